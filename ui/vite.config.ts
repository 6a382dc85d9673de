import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// `npm run dev` proxies the API to a running `image-search serve` (default port 8000).
export default defineConfig({
	plugins: [sveltekit()],
	server: {
		proxy: { '/api': process.env.IMAGE_SEARCH_API ?? 'http://127.0.0.1:8000' }
	}
});
