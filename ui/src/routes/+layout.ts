// A single-page app: no server-side rendering, no prerendering of data pages.
export const ssr = false;
export const prerender = false;
