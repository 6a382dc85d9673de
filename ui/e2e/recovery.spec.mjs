// @ts-check
// The recovery center over the e2e library's broken/ folder (a truncated JPEG, a corrupt and an
// empty MP4): failures grouped by cause with guidance, ignore and restore, retry one file and
// follow the index run until the file (still broken) is back with one more attempt; the API
// agrees at every step; desktop and phone screenshots.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESKTOP, PHONE, apiGet, baseUrl, screenshot, withPage } from './lib.mjs';

/** @param {any} overview @param {string} name file name → [cause id, asset] */
function find(overview, name) {
	for (const group of overview.groups) {
		const asset = group.assets.find((/** @type {any} */ a) => a.path.endsWith(`/${name}`));
		if (asset) return /** @type {[string, any]} */ ([group.cause.id, asset]);
	}
	throw new Error(`${name} is not among the failed assets: ${JSON.stringify(overview)}`);
}

test('failures by cause: ignore, restore, retry', async () => {
	const before = await apiGet('/api/v1/recovery?perCause=50');
	const [truncatedCause, truncated] = find(before, 'truncated.jpg');
	const [emptyCause, empty] = find(before, 'svu_empty.mp4');
	find(before, 'svu_corrupted.mp4');
	assert.equal(truncatedCause, 'truncated');
	assert.equal(emptyCause, 'empty');
	assert.equal(before.ignored, 0);
	assert.equal(truncated.attempts, 1);

	await withPage(DESKTOP, async ({ page }) => {
		await page.goto(baseUrl + '/recovery');
		await page.getByRole('heading', { level: 1, name: 'Recovery' }).waitFor();
		const cut = page.getByRole('region', { name: /^File cut short/ });
		const emptySection = page.getByRole('region', { name: /^Empty file or no picture/ });
		await cut.getByText('Copy it again from the source').waitFor();
		await emptySection.getByText('svu_empty.mp4').waitFor();
		// One section per cause, each with its count.
		for (const group of before.groups) {
			const section = page.locator(`section[data-cause="${group.cause.id}"]`);
			await section.getByRole('heading', { name: group.cause.title }).waitFor();
			assert.equal((await section.locator('.count').textContent())?.trim(), String(group.count));
		}
		const nav = page.getByRole('navigation', { name: 'Sections' });
		const badge = nav.getByTestId('failed-badge');
		assert.equal(await badge.getAttribute('title'), `${before.failed} failed files`);

		// Ignore the empty video: its section goes, the Ignored section counts it.
		await emptySection.getByRole('checkbox', { name: 'Select svu_empty.mp4' }).check();
		await emptySection.getByRole('button', { name: 'Ignore selected' }).click();
		await emptySection.waitFor({ state: 'detached' });
		const ignored = page.getByRole('region', { name: /^Ignored/ });
		await ignored.getByRole('heading', { name: 'Ignored (1)' }).waitFor();
		const afterIgnore = await apiGet('/api/v1/recovery');
		assert.equal(afterIgnore.ignored, 1);
		assert.equal(afterIgnore.failed, before.failed - 1);
		const ignoredList = await apiGet('/api/v1/recovery/assets?status=ignored');
		assert.deepEqual(
			ignoredList.items.map((/** @type {any} */ a) => [a.id, a.error]),
			[[empty.id, empty.error]],
			'an ignored asset keeps its error'
		);

		// Restore it from the Ignored section.
		await ignored.getByRole('button', { name: 'Show' }).click();
		await ignored.getByRole('button', { name: 'Restore svu_empty.mp4' }).click();
		await page.getByRole('region', { name: /^Empty file or no picture/ }).waitFor();
		await ignored.waitFor({ state: 'detached' });
		const afterRestore = await apiGet('/api/v1/recovery');
		assert.equal(afterRestore.ignored, 0);
		assert.equal(afterRestore.failed, before.failed);

		// Retry the truncated photo: the index run's progress shows, then the file is back
		// (still broken) with one more attempt.
		await cut.getByRole('checkbox', { name: 'Select truncated.jpg' }).check();
		await cut.getByRole('button', { name: 'Retry selected (1)' }).click();
		await page.getByText(/^Retry finished/).waitFor({ timeout: 120_000 });
		const row = page.locator(`section[data-cause="truncated"] tr[data-asset-id="${truncated.id}"]`);
		await row.waitFor();
		assert.equal((await row.locator('td[data-label="Attempts"]').textContent())?.trim(), '2');
		const [causeAgain, again] = find(await apiGet('/api/v1/recovery?perCause=50'), 'truncated.jpg');
		assert.equal(causeAgain, 'truncated');
		assert.equal(again.attempts, 2);
		assert.equal(again.status, 'failed');
		const jobs = await apiGet('/api/v1/jobs?kind=index_pending');
		assert.equal(jobs[0].status, 'complete');

		// The notices have been read: dismiss them for the screenshot.
		const dismiss = page.getByRole('button', { name: 'Dismiss' });
		while ((await dismiss.count()) > 0) await dismiss.first().click();
		await page.mouse.move(0, 0);
		await screenshot(page, 'recovery-desktop');
	});

	await withPage(PHONE, async ({ page }) => {
		await page.goto(baseUrl + '/recovery');
		await page.getByRole('region', { name: /^File cut short/ }).waitFor();
		await page
			.getByRole('navigation', { name: 'Sections' })
			.getByRole('link', { name: /^Recovery/ })
			.waitFor();
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth);
		assert.equal(overflow, false, 'the recovery page scrolls sideways on a phone');
		await screenshot(page, 'recovery-phone');
	});
});
