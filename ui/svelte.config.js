// SvelteKit as a single-page app: adapter-static with a fallback page, written into the Python
// package so that `image-search serve` ships it (https://svelte.dev/docs/kit/single-page-apps).
import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

// UI_BUILD_DIR builds somewhere else than the package (e.g. two builds side by side); serve it
// with IMAGE_SEARCH_WEB_DIR=$UI_BUILD_DIR/web.
const buildDir = process.env.UI_BUILD_DIR;
const web = buildDir ? `${buildDir}/web` : '../src/image_search/web';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		// The kit output stays inside ui/ so that node_modules resolve from it.
		outDir: buildDir ? `.svelte-kit-builds/${buildDir.replace(/[^A-Za-z0-9]+/g, '_')}` : '.svelte-kit',
		adapter: adapter({
			pages: web,
			assets: web,
			fallback: 'index.html',
			strict: true
		})
	}
};

export default config;
