// @ts-check
// The library end to end: browse the folder tree down to one person's folder (the grid shows
// exactly that folder's assets), open an asset, fix its face (assign it to a new person named in
// the UI, "Not this person", Undo, again), walk to the next asset and back to the grid; then the
// same pages on a phone. Every change is checked through the API too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESKTOP, PHONE, apiGet, launch, screenshot } from './lib.mjs';

/** @typedef {import('playwright-core').Page} Page */

/** The indexed roots and the people-small person folders, from the API. */
async function folderPaths() {
	const roots = await apiGet('/api/v1/folders');
	const peopleSmall = roots.folders.find((/** @type {any} */ f) => f.name === 'people-small');
	assert.ok(peopleSmall, `people-small is an indexed root: ${JSON.stringify(roots)}`);
	const children = await apiGet(
		`/api/v1/folders?parent=${encodeURIComponent(peopleSmall.path)}`
	);
	assert.ok(children.folders.length >= 2, 'people-small has person folders');
	return { peopleSmall, person: children.folders[0] };
}

/** The assets the API lists in `folder` (direct files only, or with subfolders). */
async function assetsIn(/** @type {string} */ folder, recursive = true) {
	const q = new URLSearchParams({ folder, recursive: String(recursive), pageSize: '200' });
	return (await apiGet(`/api/v1/assets?${q}`)).items;
}

/** The asset ids of the grid cells rendered, in order. */
async function gridIds(/** @type {Page} */ page) {
	const ids = await page
		.locator('.asset-grid [data-asset-id]')
		.evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-asset-id'))));
	return ids;
}

/** Wait until every image on the page has loaded (thumbnails, crops, the full image). */
async function imagesLoaded(/** @type {Page} */ page) {
	await page.waitForFunction(() =>
		[...document.images].every((img) => img.complete && img.naturalWidth > 0)
	);
}

test('browse a folder, open an asset and fix its face (desktop)', async () => {
	const { peopleSmall, person } = await folderPaths();
	const ctx = await launch(DESKTOP);
	const { page } = ctx;
	try {
		await page.goto(`${ctx.baseUrl}/library`);
		const tree = page.getByRole('navigation', { name: 'Folders' });

		// Open people-small: its person folders show in the tree, the grid lists all 40 photos.
		await tree.getByRole('link', { name: /^people-small\b/ }).click();
		await page.waitForURL((url) => url.searchParams.get('folder') === peopleSmall.path);
		const expected40 = await assetsIn(peopleSmall.path);
		await page
			.getByTestId('asset-total')
			.filter({ hasText: `${expected40.length} assets` })
			.waitFor();

		// Open one person's folder: exactly its assets, in the API's order.
		await tree.getByRole('link', { name: new RegExp(`^${person.name}\\b`) }).click();
		await page.waitForURL((url) => url.searchParams.get('folder') === person.path);
		const expected = await assetsIn(person.path);
		assert.equal(expected.length, person.assetCount);
		await page.getByTestId('asset-total').filter({ hasText: `${expected.length} assets` }).waitFor();
		await page.waitForFunction(
			(n) => document.querySelectorAll('.asset-grid [data-asset-id]').length === n,
			expected.length
		);
		assert.deepEqual(
			await gridIds(page),
			expected.map((/** @type {any} */ a) => a.id),
			'the grid shows exactly the folder’s assets'
		);
		const current = tree.getByRole('link', { name: new RegExp(`^${person.name}\\b`) });
		assert.equal(await current.getAttribute('aria-current'), 'page', 'the folder is highlighted');
		await page.getByRole('navigation', { name: 'Breadcrumb' }).getByText(person.name).waitFor();
		await imagesLoaded(page);
		await screenshot(page, 'library-desktop');

		// Open the first asset: its own URL, the full image and its face.
		const asset = expected[0];
		await page.locator(`.asset-grid [data-asset-id="${asset.id}"]`).click();
		await page.waitForURL((url) => url.pathname === `/library/asset/${asset.id}`);
		const view = page.getByRole('dialog');
		const detail = await apiGet(`/api/v1/assets/${asset.id}`);
		assert.equal(detail.faces.length, 1, 'a people-small photo has one face');
		const faceId = detail.faces[0].id;
		const faceRow = view.locator(`li[data-face-id="${faceId}"]`);
		await faceRow.waitFor();
		assert.match((await faceRow.getAttribute('aria-label')) ?? '', /Unknown/);

		// Assign the face to a new person, named in the UI.
		// Named after the folder (people-small/amy → "Amy"); each spec starts without persons.
		let name = person.name.charAt(0).toUpperCase() + person.name.slice(1);
		const taken = await apiGet(`/api/v1/persons?search=${encodeURIComponent(name)}`);
		if (taken.items.length > 0) name = `${name} ${Date.now() % 100000}`;
		const picker = faceRow.getByRole('combobox', { name: /Assign face 1 to a person/ });
		await picker.fill(name);
		await faceRow.getByRole('option', { name: `New person “${name}”` }).click();
		await view.locator(`li[data-face-id="${faceId}"][aria-label="Face 1: ${name}"]`).waitFor();
		await view.getByRole('button', { name: `Face: ${name}` }).waitFor(); // the box's label
		const assigned = await apiGet(`/api/v1/faces/${faceId}`);
		assert.ok(assigned.personId, 'the face has a person');
		assert.equal(assigned.personName, name);
		const persons = await apiGet(`/api/v1/persons?search=${encodeURIComponent(name)}`);
		const created = persons.items.find((/** @type {any} */ p) => p.name === name);
		assert.ok(created, `GET /api/v1/persons lists ${name}`);
		assert.equal(created.id, assigned.personId);
		assert.equal(created.faceCount, 1);
		await imagesLoaded(page);
		await screenshot(page, 'asset-desktop');

		// "Not this person": unassigned, and Undo gives it back.
		await faceRow.getByRole('button', { name: 'Not this person' }).click();
		await view.locator(`li[data-face-id="${faceId}"][aria-label="Face 1: Unknown"]`).waitFor();
		assert.equal((await apiGet(`/api/v1/faces/${faceId}`)).personId, null, 'unassigned');
		await page
			.getByRole('status')
			.filter({ hasText: `Not ${name}:` })
			.getByRole('button', { name: 'Undo' })
			.click();
		await view.locator(`li[data-face-id="${faceId}"][aria-label="Face 1: ${name}"]`).waitFor();
		assert.equal((await apiGet(`/api/v1/faces/${faceId}`)).personId, created.id, 'undone');

		await faceRow.getByRole('button', { name: 'Not this person' }).click();
		await view.locator(`li[data-face-id="${faceId}"][aria-label="Face 1: Unknown"]`).waitFor();
		const face = await apiGet(`/api/v1/faces/${faceId}`);
		assert.equal(face.personId, null, 'the face is unassigned again');
		assert.equal(face.personName, null);

		// Arrow keys walk the folder's listing; Escape returns to the grid.
		await view.getByRole('heading', { level: 1 }).click(); // focus out of the person picker
		await page.keyboard.press('ArrowRight');
		await page.waitForURL((url) => url.pathname === `/library/asset/${expected[1].id}`);
		await page.keyboard.press('Escape');
		await page.waitForURL((url) => url.pathname === '/library');
		assert.equal(new URL(page.url()).searchParams.get('folder'), person.path);
		await page.locator(`.asset-grid [data-asset-id="${expected[1].id}"]:focus`).waitFor();

		// An asset's URL opens it on its own (reload, shared link).
		await page.goto(`${ctx.baseUrl}/library/asset/${asset.id}`);
		await page.getByRole('dialog').locator(`li[data-face-id="${faceId}"]`).waitFor();
	} finally {
		await ctx.close();
	}
});

test('the library and an asset on a phone', async () => {
	const roots = (await apiGet('/api/v1/folders')).folders;
	const group = roots.find((/** @type {any} */ f) => f.name === 'group');
	assert.ok(group, 'group is an indexed root');
	const all = await apiGet('/api/v1/assets?pageSize=200');
	const inGroup = await assetsIn(group.path);
	const ctx = await launch(PHONE);
	const { page } = ctx;
	try {
		// Every asset, three columns.
		await page.goto(`${ctx.baseUrl}/library`);
		await page.getByTestId('asset-total').filter({ hasText: `${all.total} assets` }).waitFor();
		await page.locator('.asset-grid [data-asset-id]').first().waitFor();
		const lefts = await page
			.locator('.asset-grid [data-asset-id]')
			.evaluateAll((cells) => [
				...new Set(cells.map((c) => Math.round(c.getBoundingClientRect().left)))
			]);
		assert.equal(lefts.length, 3, `three columns on a phone, got ${lefts.length}`);
		await imagesLoaded(page);
		await screenshot(page, 'library-phone');

		// The folder tree is a drawer above the grid: open it, pick a folder, it closes.
		const toggle = page.getByRole('button', { name: 'Folders' });
		assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
		await toggle.click();
		await page
			.getByRole('navigation', { name: 'Folders' })
			.getByRole('link', { name: /^group\b/ })
			.click();
		await page.waitForURL((url) => url.searchParams.get('folder') === group.path);
		assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
		await page.getByTestId('asset-total').filter({ hasText: `${inGroup.length} assets` }).waitFor();
		await page.waitForFunction(
			(n) => document.querySelectorAll('.asset-grid [data-asset-id]').length === n,
			inGroup.length
		);

		// A group photo full screen, its faces below the image.
		const asset = inGroup[0];
		await page.locator(`.asset-grid [data-asset-id="${asset.id}"]`).click();
		await page.waitForURL((url) => url.pathname === `/library/asset/${asset.id}`);
		const view = page.getByRole('dialog');
		await view.locator('li[data-face-id]').nth(asset.faceCount - 1).waitFor();
		assert.equal(await view.locator('li[data-face-id]').count(), asset.faceCount);
		const box = await view.boundingBox();
		assert.ok(box && box.width === PHONE.width && box.height === PHONE.height, 'full screen');
		await imagesLoaded(page);
		await screenshot(page, 'asset-phone');
		await view.getByRole('button', { name: 'Back to the library' }).click();
		await page.waitForURL((url) => url.pathname === '/library');
		await page.locator(`.asset-grid [data-asset-id="${asset.id}"]:focus`).waitFor();
	} finally {
		await ctx.close();
	}
});
