// @ts-check
// The status page shows the indexed library's numbers as the API gives them, keeps them live
// through the status event stream, lists background jobs, and fits desktop and phone screens.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESKTOP, PHONE, apiGet, apiPost, baseUrl, screenshot, waitForJob, withPage } from './lib.mjs';

/** @param {Record<string, Record<string, number>>} byStatus @param {string} name */
const sumOf = (byStatus, name) =>
	Object.values(byStatus).reduce((sum, counts) => sum + (counts[name] ?? 0), 0);

test('status shows the indexed counts, live, and recent jobs', async () => {
	const status = await apiGet('/api/v1/status');
	await withPage(DESKTOP, async ({ page }) => {
		await page.goto(baseUrl + '/status');
		const totals = page.getByRole('region', { name: 'Totals' });
		await totals.waitFor();
		const text = (await totals.textContent()) ?? '';
		assert.match(text, new RegExp(`${sumOf(status.assetsByStatus, 'done').toLocaleString('en-US')}\\s*indexed`));
		assert.match(text, new RegExp(`${status.faces.toLocaleString('en-US')}\\s*faces`));
		assert.match(text, new RegExp(`${status.clusters.toLocaleString('en-US')}\\s*clusters`));
		// the event stream is open
		await page.getByText('● live').waitFor();
		assert.equal(await page.getByText('Idle').count(), 1);

		// a job started elsewhere appears once it is done
		const job = await apiPost('/api/v1/faces/suggestions/assign', {});
		const finished = await waitForJob(job.jobId ?? job.id);
		assert.equal(finished.status, 'complete');
		await page.reload();
		const jobs = page.getByRole('region', { name: 'Recent jobs' });
		await jobs.getByText('complete').first().waitFor();
		await screenshot(page, 'status-desktop');
	});
	await withPage(PHONE, async ({ page }) => {
		await page.goto(baseUrl + '/status');
		await page.getByRole('region', { name: 'Totals' }).waitFor();
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth);
		assert.equal(overflow, false, 'the status page scrolls sideways on a phone');
		await screenshot(page, 'status-phone');
	});
});
