// @ts-check
// Search end to end, over a fresh library with ~8 unnamed clusters: two clusters that share
// group photos are named through the API (one with a nested name), then in the UI both become
// person chips, and the grid must show exactly what GET /api/v1/search answers for them (all of
// them, then any of them); a folder narrows it; an inverted date range shows the API's error;
// a result opens its asset page, whose "More like this" and Back work. Text typed in the
// header bar (focused with "/") lands on /search?q=.. and, without CLIP weights on this
// machine, says text search is unavailable (503) while people still search. Screenshots of the
// search page at desktop and phone sizes; on a phone the filters fold behind a toggle.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { DESKTOP, PHONE, apiGet, apiPost, baseUrl, screenshot, withPage } from './lib.mjs';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {{ id: number, name: string, shown: string }} Named */

/** Text search answers 503 here (no CLIP model files): expected, not a failure of the page. */
const CLIP_503 = /HTTP 503 GET \/api\/v1\/search\?/;

/** @type {Named[]} */
const persons = [];
/** @type {{ name: string, path: string }} */
let groupFolder;

/** @param {string} s */
const capitalized = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * GET /api/v1/search with `params` (personId repeated), every result on one page.
 * @param {Record<string, string | number | (string | number)[]>} params
 */
async function searchApi(params) {
	const q = new URLSearchParams();
	for (const [key, value] of Object.entries({ pageSize: 500, ...params })) {
		for (const v of Array.isArray(value) ? value : [value]) q.append(key, String(v));
	}
	return apiGet(`/api/v1/search?${q}`);
}

/**
 * The status and error message GET `path` answers (for answers lib.mjs's apiGet throws on).
 * @param {string} path
 */
async function answerOf(path) {
	const response = await fetch(baseUrl + path);
	const body = await response.json();
	return { status: response.status, message: body?.error?.message ?? '' };
}

/** Asset ids of the result grid, in order. @param {Page} page */
async function gridIds(page) {
	return page
		.locator('ul[aria-label="Search results"] [data-asset-id]')
		.evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-asset-id'))));
}

/**
 * Wait until the grid shows exactly `expected` (the API's answer), in its order, with its total.
 * @param {Page} page @param {{ total: number, items: { id: number }[] }} expected @param {string} what
 */
async function expectGrid(page, expected, what) {
	const ids = expected.items.map((a) => a.id);
	try {
		await page.waitForFunction(
			({ ids, total }) => {
				const cells = document.querySelectorAll('ul[aria-label="Search results"] [data-asset-id]');
				const shown = [...cells].map((c) => Number(c.getAttribute('data-asset-id')));
				const summary = document.querySelector('[data-testid="search-total"] strong');
				return (
					summary?.textContent?.replace(/\D/g, '') === String(total) &&
					shown.length === ids.length &&
					shown.every((id, i) => id === ids[i])
				);
			},
			{ ids, total: expected.total }
		);
	} catch (error) {
		const shown = await gridIds(page);
		assert.deepEqual(shown, ids, `${what}: the grid shows the API's results`);
		throw error;
	}
}

/** Wait until every image in the viewport has loaded. @param {Page} page */
async function imagesLoaded(page) {
	await page.waitForFunction(() =>
		[...document.images].every((img) => {
			const box = img.getBoundingClientRect();
			const inView = box.width > 0 && box.bottom > 0 && box.top < window.innerHeight;
			return !inView || (img.complete && img.naturalWidth > 0);
		})
	);
}

/**
 * Add `person` as a chip: type part of the name in the picker, pick the option.
 * @param {Page} page @param {Named} person
 */
async function addChip(page, person) {
	const picker = page.getByRole('combobox', { name: 'Add a person' });
	await picker.click();
	await picker.fill(person.shown);
	await page.getByRole('option', { name: new RegExp(`^${person.name}\\b`) }).click();
	await page.locator(`li[data-person-id="${person.id}"]`).waitFor();
	await page.waitForURL((url) => url.searchParams.getAll('personId').includes(String(person.id)));
}

before(async () => {
	const status = await apiGet('/api/v1/persons');
	assert.equal(status.total, 0, 'each spec starts without persons');
	// The two clusters that share the most photos (the group photos of both people).
	const clusters = (await apiGet('/api/v1/clusters?pageSize=500')).items;
	assert.ok(clusters.length >= 2, `expected unnamed clusters, got ${clusters.length}`);
	/** @type {{ id: number, assets: Set<number>, folder: string }[]} */
	const withAssets = [];
	for (const cluster of clusters) {
		const faces = (await apiGet(`/api/v1/clusters/${cluster.id}/faces?pageSize=500`)).items;
		const folders = faces
			.map((/** @type {{ path: string }} */ f) => f.path.split('/').at(-2) ?? '')
			.filter((/** @type {string} */ name) => name !== 'group');
		withAssets.push({
			id: cluster.id,
			assets: new Set(faces.map((/** @type {{ assetId: number }} */ f) => f.assetId)),
			folder: folders[0] ?? `person${cluster.id}`
		});
	}
	let best = { shared: -1, pair: [withAssets[0], withAssets[1]] };
	for (const [i, a] of withAssets.entries()) {
		for (const b of withAssets.slice(i + 1)) {
			const shared = [...a.assets].filter((id) => b.assets.has(id)).length;
			if (shared > best.shared) best = { shared, pair: [a, b] };
		}
	}
	assert.ok(best.shared > 0, 'two clusters share a group photo');
	// One nested name: its chip shows the last part, the full name on hover.
	const names = [`Friends/${capitalized(best.pair[0].folder)}`, capitalized(best.pair[1].folder)];
	for (const [i, cluster] of best.pair.entries()) {
		const named = await apiPost(`/api/v1/clusters/${cluster.id}/name`, { name: names[i] });
		const person = await apiGet(`/api/v1/persons/${named.personId}`);
		assert.equal(person.name, names[i]);
		persons.push({ id: person.id, name: person.name, shown: person.shownName });
	}
	assert.equal(persons[0].shown, capitalized(best.pair[0].folder), 'shownName: last part');

	const roots = (await apiGet('/api/v1/folders')).folders;
	groupFolder = roots.find((/** @type {{ name: string }} */ f) => f.name === 'group');
	assert.ok(groupFolder, 'group is an indexed root');
});

test('two people (all, then any), a folder, an inverted date range; open a result (desktop)', async () => {
	await withPage(DESKTOP, async ({ page }) => {
		const [a, b] = persons;
		await page.goto(`${baseUrl}/search`);
		await page.getByRole('heading', { level: 1, name: 'Search' }).waitFor();
		await page.getByText('Press / on any page').waitFor(); // nothing asked yet

		// Both people as chips: photos with both of them (the group photos).
		await addChip(page, a);
		const chip = page.locator(`li[data-person-id="${a.id}"]`);
		await chip.getByText(a.shown, { exact: true }).waitFor(); // the shown name
		assert.equal(await chip.getAttribute('title'), a.name, 'the full name on hover');
		await addChip(page, b);
		const all = await searchApi({ personId: [a.id, b.id] });
		assert.equal(all.mode, 'filters');
		assert.ok(all.total > 0, 'both people are in some photo');
		for (const asset of all.items) assert.match(asset.path, /\/group\//, 'both: group photos');
		await expectGrid(page, all, 'all of them');
		assert.equal(new URL(page.url()).searchParams.get('personMode'), null, '"all" is the default');

		// Any of them: the union, more photos.
		await page.getByRole('radio', { name: 'Any of them' }).check();
		await page.waitForURL((url) => url.searchParams.get('personMode') === 'any');
		const any = await searchApi({ personId: [a.id, b.id], personMode: 'any' });
		assert.ok(any.total > all.total, `any (${any.total}) > all (${all.total})`);
		await expectGrid(page, any, 'any of them');

		// A folder narrows: only the group photos of either person.
		await page.getByLabel('Folder', { exact: true }).fill(groupFolder.path);
		await page.getByLabel('Folder', { exact: true }).press('Enter');
		await page.waitForURL((url) => url.searchParams.get('folder') === groupFolder.path);
		const inFolder = await searchApi({
			personId: [a.id, b.id],
			personMode: 'any',
			folder: groupFolder.path
		});
		assert.ok(inFolder.total > 0 && inFolder.total < any.total, 'the folder narrows');
		await expectGrid(page, inFolder, 'any of them, in the group folder');
		await imagesLoaded(page);
		await screenshot(page, 'search-desktop');

		// Reload: the URL holds the whole search.
		await page.reload();
		await expectGrid(page, inFolder, 'after a reload');
		await page.locator(`li[data-person-id="${b.id}"]`).waitFor();

		// An inverted date range: the API's 422, shown next to the form.
		await page.getByLabel('From', { exact: true }).fill('2030-01-01');
		await page.waitForURL((url) => url.searchParams.get('from') === '2030-01-01');
		await page.getByLabel('To', { exact: true }).fill('2020-01-01');
		await page.waitForURL((url) => url.searchParams.get('to') === '2020-01-01');
		const inverted = await answerOf(
			`/api/v1/search?personId=${a.id}&from=2030-01-01&to=2020-01-01`
		);
		assert.equal(inverted.status, 422);
		const alert = page.getByRole('alert').filter({ hasText: 'The search could not run' });
		await alert.waitFor();
		assert.ok(
			((await alert.textContent()) ?? '').includes(inverted.message),
			`the error shows the API's message "${inverted.message}"`
		);
		assert.equal(await page.locator('ul[aria-label="Search results"]').count(), 0);

		// Back: the previous search again.
		await page.goBack();
		await page.waitForURL((url) => url.searchParams.get('to') === null);
		await page.getByRole('alert').filter({ hasText: 'The search could not run' }).waitFor({
			state: 'detached'
		});

		// Remove a chip with its ×.
		await page.getByRole('button', { name: `Remove ${b.shown}` }).click();
		await page.waitForURL((url) => url.searchParams.getAll('personId').length === 1);
		await page.goBack(); // both people again (any, folder, from 2030)
		await page.goBack(); // without the from date
		await page.waitForURL((url) => url.searchParams.get('from') === null);
		await expectGrid(page, inFolder, 'back to the folder search');

		// A result opens its asset page; Back returns to the results.
		const first = inFolder.items[0];
		await page.locator(`ul[aria-label="Search results"] [data-asset-id="${first.id}"]`).click();
		await page.waitForURL((url) => url.pathname === `/library/asset/${first.id}`);
		const view = page.getByRole('dialog');
		await view.getByRole('button', { name: 'Back to the search results' }).click();
		await page.waitForURL((url) => url.pathname === '/search');
		await expectGrid(page, inFolder, 'back from the asset');

		// "More like this" on the asset page: /search?similarTo=<id>. Without CLIP embeddings
		// here the search says why (422: no embedding, or 503: no model).
		await page.locator(`ul[aria-label="Search results"] [data-asset-id="${first.id}"]`).click();
		await page.getByRole('dialog').getByRole('link', { name: 'More like this' }).click();
		await page.waitForURL(
			(url) => url.pathname === '/search' && url.searchParams.get('similarTo') === String(first.id)
		);
		const similar = await answerOf(`/api/v1/search?similarTo=${first.id}`);
		if (similar.status === 200) {
			await expectGrid(page, await searchApi({ similarTo: first.id }), 'more like this');
		} else {
			await page.getByText(similar.message).waitFor();
		}
		await page.getByText(`More like asset #${first.id}`).waitFor();
	});
});

test('"/" and the header bar: text search says it is unavailable, people still search', async () => {
	await withPage({ ...DESKTOP, allowErrors: [CLIP_503] }, async ({ page }) => {
		const [a] = persons;
		await page.goto(`${baseUrl}/library`);
		await page.getByTestId('asset-total').waitFor();
		await page.locator('body').click({ position: { x: 5, y: 300 } });
		await page.keyboard.press('/');
		const bar = page.getByRole('searchbox', { name: 'Search photos' });
		await page.waitForFunction(
			() => document.activeElement?.getAttribute('aria-label') === 'Search photos'
		);
		await bar.pressSequentially('people at a party');
		await bar.press('Enter');
		await page.waitForURL(
			(url) => url.pathname === '/search' && url.searchParams.get('q') === 'people at a party'
		);
		assert.equal(
			await page.getByRole('searchbox', { name: 'Search text' }).inputValue(),
			'people at a party'
		);

		// No CLIP weights on this machine: the API answers 503, the page says so and why.
		const text = await answerOf('/api/v1/search?q=people%20at%20a%20party');
		assert.equal(text.status, 503, 'text search without CLIP model files');
		const notice = page.getByTestId('text-unavailable');
		await notice.getByText('Text search is unavailable.').waitFor();
		assert.ok(((await notice.textContent()) ?? '').includes(text.message), 'the reason is shown');

		// The filters stay usable: with a person, that person's photos (without the text).
		await addChip(page, a);
		assert.equal(new URL(page.url()).searchParams.get('q'), 'people at a party');
		await notice.getByText('Showing the assets that match the people and filters').waitFor();
		await expectGrid(page, await searchApi({ personId: a.id }), 'a person, text unavailable');

		// Dropping the text: a plain people search, no notice.
		await notice.getByRole('button', { name: 'Remove the text' }).click();
		await page.waitForURL((url) => url.searchParams.get('q') === null);
		await page.getByTestId('text-unavailable').waitFor({ state: 'detached' });
		await expectGrid(page, await searchApi({ personId: a.id }), 'a person');
	});
});

test('the search page on a phone: filters behind a toggle; pages', async () => {
	await withPage(PHONE, async ({ page }) => {
		const [a, b] = persons;
		// The header bar is there on other pages too.
		await page.goto(`${baseUrl}/people`);
		await page.getByRole('searchbox', { name: 'Search photos' }).waitFor();

		await page.goto(`${baseUrl}/search?personId=${a.id}&personId=${b.id}&personMode=any`);
		const any = await searchApi({ personId: [a.id, b.id], personMode: 'any' });
		await expectGrid(page, any, 'any of them (phone)');
		await page.getByRole('radio', { name: 'Any of them' }).waitFor();

		const toggle = page.getByRole('button', { name: /^Filters/ });
		assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
		assert.equal(await page.getByLabel('From', { exact: true }).isVisible(), false, 'filters folded');
		const lefts = await page
			.locator('ul[aria-label="Search results"] [data-asset-id]')
			.evaluateAll((cells) => [
				...new Set(cells.map((c) => Math.round(c.getBoundingClientRect().left)))
			]);
		assert.equal(lefts.length, 3, `three columns on a phone, got ${lefts.length}`);
		const width = await page.evaluate(() => document.documentElement.scrollWidth);
		assert.ok(width <= PHONE.width, `no horizontal scrolling (${width} px)`);
		await imagesLoaded(page);
		await screenshot(page, 'search-phone');

		// Open the filters: videos only leaves nothing (this library has photos only).
		await toggle.click();
		assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
		await page.getByLabel('From', { exact: true }).waitFor();
		await page.getByLabel('Media type').selectOption('video');
		await page.waitForURL((url) => url.searchParams.get('kind') === 'video');
		const videos = await searchApi({ personId: [a.id, b.id], personMode: 'any', kind: 'video' });
		assert.equal(videos.total, 0, 'no videos in this library');
		await page.getByText('No assets match this search.').waitFor();
		assert.match((await toggle.textContent()) ?? '', /Filters\s*1/, 'one filter set');

		// Pages: 5 per page from the URL, then the next page.
		await page.goto(
			`${baseUrl}/search?personId=${a.id}&personId=${b.id}&personMode=any&pageSize=5`
		);
		const q = { personId: [a.id, b.id], personMode: 'any', pageSize: 5 };
		const first = await searchApi(q);
		assert.ok(first.total > 5, 'more than one page');
		await expectGrid(page, first, 'page 1 of 5 per page');
		const pages = page.getByRole('navigation', { name: 'Pages' });
		await pages.getByText(`Page 1 of ${Math.ceil(first.total / 5)}`).waitFor();
		await pages.getByRole('button', { name: 'Next →' }).click();
		await page.waitForURL((url) => url.searchParams.get('page') === '2');
		await expectGrid(page, await searchApi({ ...q, page: 2 }), 'page 2 of 5 per page');
		await page.goBack();
		await expectGrid(page, first, 'back to page 1');
	});
});
