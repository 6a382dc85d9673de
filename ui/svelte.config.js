// SvelteKit as a single-page app: adapter-static with a fallback page, written into the Python
// package so that `image-search serve` ships it (https://svelte.dev/docs/kit/single-page-apps).
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter({
			pages: '../src/image_search/web',
			assets: '../src/image_search/web',
			fallback: 'index.html',
			strict: true
		})
	}
};

export default config;
