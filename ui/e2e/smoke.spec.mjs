// @ts-check
// Smoke test of the app shell: the UI is served, the nav shows the four sections at desktop and
// phone sizes, every section link navigates, deep links load (SPA fallback) and nothing logs
// an error.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DESKTOP, PHONE, apiGet, baseUrl, withPage } from './lib.mjs';

const SECTIONS = [
	{ label: 'Library', path: '/library' },
	{ label: 'People', path: '/people' },
	{ label: 'Suggestions', path: '/suggestions' },
	{ label: 'Status', path: '/status' }
];

/** @param {string} url */
const pathOf = (url) => new URL(url).pathname;

/**
 * The page's first h1 becomes visible and is not empty.
 *
 * @param {import('playwright-core').Page} page
 * @param {string} path for the error message
 */
async function expectHeading(page, path) {
	const heading = page.getByRole('heading', { level: 1 }).first();
	try {
		await heading.waitFor({ state: 'visible' });
	} catch (error) {
		throw new Error(`${path}: no visible h1`, { cause: error });
	}
	assert.notEqual((await heading.textContent())?.trim() ?? '', '', `${path}: empty h1`);
}

test('the API answers and the library is indexed', async () => {
	const status = await apiGet('/api/v1/status');
	assert.ok(status.faces > 0, `expected indexed faces, got ${JSON.stringify(status)}`);
});

for (const [size, viewport] of /** @type {const} */ ([
	['desktop', DESKTOP],
	['phone', PHONE]
])) {
	describe(`app shell at ${size} size`, () => {
		test('/ opens the library and the nav shows every section', async () => {
			await withPage(viewport, async ({ page }) => {
				await page.goto(baseUrl + '/');
				await page.waitForURL((url) => url.pathname === '/library');
				const nav = page.getByRole('navigation', { name: 'Sections' });
				for (const { label } of SECTIONS) {
					await nav.getByRole('link', { name: label, exact: true }).waitFor({ state: 'visible' });
				}
				const current = nav.locator('a[aria-current="page"]');
				assert.equal(await current.count(), 1);
				assert.equal(await current.getAttribute('href'), '/library');
			});
		});

		test('each nav link navigates to its page', async () => {
			await withPage(viewport, async ({ page }) => {
				await page.goto(baseUrl + '/library');
				const nav = page.getByRole('navigation', { name: 'Sections' });
				// Status first, so that every click changes the page (the start is the library).
				for (const { label, path } of [...SECTIONS.slice(1), SECTIONS[0]]) {
					await nav.getByRole('link', { name: label, exact: true }).click();
					await page.waitForURL((url) => url.pathname === path);
					await expectHeading(page, path);
					const current = nav.getByRole('link', { name: label, exact: true });
					assert.equal(await current.getAttribute('aria-current'), 'page', `${path}: nav state`);
				}
			});
		});

		test('deep links load the page directly', async () => {
			await withPage(viewport, async ({ page }) => {
				for (const { path } of SECTIONS) {
					const response = await page.goto(baseUrl + path);
					assert.equal(response?.status(), 200, `${path}: HTTP status`);
					assert.equal(pathOf(page.url()), path);
					await expectHeading(page, path);
				}
			});
		});
	});
}

test('an unknown page and an unknown person say that they do not exist', async () => {
	// SvelteKit logs the unknown address (its default client error handler).
	const allowErrors = ['Not found: /no-such-page'];
	await withPage({ ...DESKTOP, allowErrors }, async ({ page }) => {
		/** @type {string[]} */
		const personCalls = [];
		page.on('request', (r) => {
			if (new URL(r.url()).pathname.startsWith('/api/v1/persons/')) personCalls.push(r.url());
		});
		await page.goto(baseUrl + '/no-such-page');
		await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
		await page.getByText('does not exist').waitFor();
		await page.getByRole('button', { name: 'Reload' }).waitFor();
		await page.getByRole('link', { name: 'Go to the library' }).click();
		await page.waitForURL((url) => url.pathname === '/library');

		// Not a person id: the same answer as an unknown one, without asking the API.
		await page.goto(baseUrl + '/people/abc');
		await page.getByText('This person does not exist').waitFor();
		assert.deepEqual(personCalls, []);
	});
});
