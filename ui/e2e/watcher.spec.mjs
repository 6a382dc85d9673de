// @ts-check
// The library follows the files by itself (the server's library watcher): with a folder open in
// the grid, a photo and an empty file copied into a new subfolder show up without a reload (the
// total grows, the empty file with a "failed" badge, the photo once indexed with its face), and
// the photo deleted gets a "missing" badge. Checked through the API too. The files go into the
// e2e library's people-small root (the path comes from GET /api/v1/folders) and are removed at
// the end, so later specs never see them.
import assert from 'node:assert/strict';
import { copyFile, mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { DESKTOP, PHONE, apiGet, screenshot, withPage } from './lib.mjs';

/** @typedef {import('playwright-core').Page} Page */

// Watcher debounce (2 s) + index job (faces) + the grid's refresh (at most every 2 s).
const CHANGE_TIMEOUT_MS = 90_000;

/** people-small's path and one of its photos (a symlink to the shared test data). */
async function peopleSmall() {
	const roots = await apiGet('/api/v1/folders');
	const root = roots.folders.find((/** @type {any} */ f) => f.name === 'people-small');
	assert.ok(root, `people-small is an indexed root: ${JSON.stringify(roots)}`);
	const q = new URLSearchParams({ folder: root.path, pageSize: '1' });
	const [photo] = (await apiGet(`/api/v1/assets?${q}`)).items;
	return { root: root.path, total: root.assetCount, photo: photo.path };
}

/** Poll the API until `read()` gives something (or fail after CHANGE_TIMEOUT_MS). */
async function until(/** @type {() => Promise<any>} */ read, /** @type {string} */ what) {
	const deadline = Date.now() + CHANGE_TIMEOUT_MS;
	for (;;) {
		const found = await read();
		if (found) return found;
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 300));
	}
}

/**
 * The API's asset at `path` in `folder` when listed and `pred` holds for it, else null.
 *
 * @param {string} folder
 * @param {string} path
 * @param {(asset: any) => boolean} [pred]
 */
async function assetAt(folder, path, pred = () => true) {
	const q = new URLSearchParams({ folder, pageSize: '50' });
	const { items } = await apiGet(`/api/v1/assets?${q}`);
	return items.find((/** @type {any} */ a) => a.path === path && pred(a)) ?? null;
}

/** The grid cell of asset `id`. */
const cell = (/** @type {Page} */ page, /** @type {number} */ id) =>
	page.locator(`.asset-grid [data-asset-id="${id}"]`);

/** The state badge of asset `id` once it reads `text`. */
const badge = (/** @type {Page} */ page, /** @type {number} */ id, /** @type {string} */ text) =>
	cell(page, id).getByTestId('asset-state').filter({ hasText: text });

test('new, failed and deleted files show up in the open grid by themselves', async () => {
	const library = await peopleSmall();
	const inbox = join(library.root, `watched-${process.pid}`);
	const photo = join(inbox, 'new-photo.png');
	const empty = join(inbox, 'empty.jpg');
	try {
		await withPage(DESKTOP, async ({ page, baseUrl }) => {
			const q = new URLSearchParams({ folder: library.root, recursive: '1' });
			await page.goto(`${baseUrl}/library?${q}`);
			const total = page.getByTestId('asset-total');
			await total.filter({ hasText: `${library.total} assets` }).waitFor();

			await mkdir(inbox);
			await copyFile(library.photo, photo);
			await writeFile(empty, '');

			// No reload: the grid grows by the two files.
			await total
				.filter({ hasText: `${library.total + 2} assets` })
				.waitFor({ timeout: CHANGE_TIMEOUT_MS });
			const failed = await until(() => assetAt(inbox, empty), 'the empty file in the API');
			assert.equal(failed.status, 'failed');
			assert.match(failed.error, /empty file/);
			await badge(page, failed.id, 'failed').waitFor();

			// The photo: indexed by the server's job, its cell loses the state badge and shows its
			// face.
			const done = await until(
				() => assetAt(inbox, photo, (a) => a.stage === 'done'),
				'the copied photo to be indexed'
			);
			assert.equal(done.faceCount, 1);
			const photoCell = cell(page, done.id);
			await photoCell
				.and(page.locator('[aria-label$=", 1 face"]'))
				.waitFor({ timeout: CHANGE_TIMEOUT_MS });
			assert.equal(await photoCell.getByTestId('asset-state').count(), 0);
			await screenshot(page, 'library-watcher-desktop');

			// Deleted: listed still, with a "missing" badge.
			await unlink(photo);
			const gone = await until(
				() => assetAt(inbox, photo, (a) => a.status === 'missing'),
				'the deleted photo to be missing'
			);
			await badge(page, gone.id, 'missing').waitFor({ timeout: CHANGE_TIMEOUT_MS });
		});
	} finally {
		await rm(inbox, { recursive: true, force: true });
	}
});

test('the watched folder on a phone', async () => {
	const library = await peopleSmall();
	const inbox = join(library.root, `watched-phone-${process.pid}`);
	const empty = join(inbox, 'empty.jpg');
	try {
		await withPage(PHONE, async ({ page, baseUrl }) => {
			await mkdir(inbox);
			await writeFile(empty, '');
			const failed = await until(() => assetAt(inbox, empty), 'the empty file in the API');
			const q = new URLSearchParams({ folder: inbox, recursive: '1' });
			await page.goto(`${baseUrl}/library?${q}`);
			await badge(page, failed.id, 'failed').waitFor();
			await screenshot(page, 'library-watcher-phone');
		});
	} finally {
		await rm(inbox, { recursive: true, force: true });
	}
});
