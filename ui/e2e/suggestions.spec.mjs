// @ts-check
// The suggestions page: two clusters are named with some of their faces held back, find-more
// suggests faces for both persons; then the page is driven like a user — accept in the detail
// view, reject with the keyboard and undo from the toast, undo an accept from the recently
// assigned panel, select a group and bulk accept, select the page and bulk reject, find more,
// the status filter in the URL — and every result is checked through the API. Screenshots of
// the page and of the detail view at desktop and phone sizes.
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
	DESKTOP,
	PHONE,
	apiGet,
	apiPost,
	baseUrl,
	screenshot,
	waitForJob,
	withPage
} from './lib.mjs';

/** @typedef {import('playwright-core').Page} Page */
/** @typedef {{ id: number, name: string }} Person */

/** @type {Person[]} */
const persons = [];

/**
 * Retry `check` (which throws while not yet true) for up to `timeoutMs`.
 *
 * @template T
 * @param {() => Promise<T>} check
 * @param {number} [timeoutMs]
 * @returns {Promise<T>}
 */
async function eventually(check, timeoutMs = 10_000) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		try {
			return await check();
		} catch (error) {
			if (Date.now() > deadline) throw error;
			await new Promise((done) => setTimeout(done, 200));
		}
	}
}

/** @param {number} id */
const suggestion = (id) => apiGet(`/api/v1/faces/suggestions/${id}`);
/** @param {number} id */
const face = (id) => apiGet(`/api/v1/faces/${id}`);

/**
 * Wait until suggestion `id` has `status` (and, when given, its face belongs to `personId`).
 *
 * @param {number} id
 * @param {string} status
 * @param {number | null} [personId] undefined: not checked
 */
async function expectSuggestion(id, status, personId) {
	return eventually(async () => {
		const found = await suggestion(id);
		assert.equal(found.status, status, `suggestion ${id}`);
		if (personId !== undefined) {
			const assigned = await face(found.faceInstanceId);
			assert.equal(assigned.personId, personId, `face ${found.faceInstanceId} of suggestion ${id}`);
		}
		return found;
	});
}

/** @param {string} word */
const capitalized = (word) => word.charAt(0).toUpperCase() + word.slice(1);

/** The group card of a person. @param {Page} page @param {Person} person */
const groupOf = (page, person) => page.getByRole('region', { name: person.name, exact: true });

/** The suggestion ids shown in a locator, in display order. @param {import('playwright-core').Locator} scope */
async function idsIn(scope) {
	const values = await scope
		.locator('[data-suggestion-id]')
		.evaluateAll((nodes) => nodes.map((n) => Number(n.getAttribute('data-suggestion-id'))));
	return values;
}

/**
 * A pending suggestion of the first page (of `person` when given) to open in the detail view:
 * preferably a face in a group photo (nicer than the 150 px portraits) that is also suggested
 * for the other person on the page (the detail view then lists that alternative).
 *
 * @param {Person} [person]
 * @returns {Promise<{ id: number, alternative: boolean }>}
 */
async function detailCandidate(person) {
	const grouped = await apiGet('/api/v1/faces/suggestions?grouped=true');
	/** @type {any[]} */
	const all = grouped.groups.flatMap((/** @type {any} */ g) => g.suggestions);
	const mine = all.filter((s) => !person || s.suggestedPersonId === person.id);
	const inGroupPhoto = mine.filter((s) => s.path.includes('/group/'));
	const withAlternative = inGroupPhoto.filter((s) =>
		all.some((o) => o.faceInstanceId === s.faceInstanceId && o.id !== s.id)
	);
	const chosen = withAlternative[0] ?? inGroupPhoto[0] ?? mine[0];
	return { id: chosen.id, alternative: withAlternative.length > 0 };
}

/**
 * Wait until every image in the viewport has loaded (face crops come from the server on
 * demand), so that screenshots show them.
 *
 * @param {Page} page
 */
async function imagesShown(page) {
	await page.waitForFunction(() =>
		[...document.images]
			.filter((img) => {
				const box = img.getBoundingClientRect();
				return box.width > 0 && box.bottom > 0 && box.top < window.innerHeight;
			})
			.every((img) => img.complete)
	);
}

/** Open /suggestions and wait for the groups. @param {Page} page @param {string} [query] */
async function openSuggestions(page, query = '') {
	await page.goto(`${baseUrl}/suggestions${query}`);
	await page.getByRole('heading', { level: 1, name: 'Suggestions' }).waitFor();
	await page.locator('[data-suggestion-id]').first().waitFor();
}

before(async () => {
	const clusters = (await apiGet('/api/v1/clusters')).items;
	assert.ok(clusters.length >= 2, `expected unnamed clusters, got ${clusters.length}`);
	for (const cluster of clusters.slice(0, 2)) {
		const faces = (await apiGet(`/api/v1/clusters/${cluster.id}/faces`)).items;
		// Named after the people-small folder most of its faces come from.
		const folders = faces
			.map((/** @type {{ path: string }} */ f) => f.path.split('/').at(-2) ?? '')
			.filter((/** @type {string} */ name) => name !== 'group');
		const name = capitalized(folders[0] ?? `person ${cluster.id}`);
		const keep = Math.max(2, Math.ceil(faces.length / 2));
		const held = faces.slice(keep).map((/** @type {{ id: number }} */ f) => f.id);
		const named = await apiPost(`/api/v1/clusters/${cluster.id}/name`, {
			name,
			excludeFaceIds: held
		});
		persons.push({ id: named.personId, name });
	}
	for (const person of persons) {
		const job = await apiPost(`/api/v1/faces/suggestions/persons/${person.id}/find-more`, {
			minConfidence: 0.5
		});
		const done = await waitForJob(job.jobId);
		assert.equal(done.status, 'complete', JSON.stringify(done));
		assert.ok(done.result.suggestionsCreated > 0, `no suggestions for ${person.name}`);
	}
});

describe('suggestions at phone size', () => {
	test('page and detail view; accept and undo from the recent drawer', async () => {
		await withPage(PHONE, async ({ page }) => {
			await openSuggestions(page);
			await imagesShown(page);
			await screenshot(page, 'suggestions-phone');

			const { id } = await detailCandidate();
			const before = await suggestion(id);
			await page.locator(`[data-suggestion-id="${id}"]`).click();
			const dialog = page.getByRole('dialog', { name: /^Suggestion:/ });
			await dialog.waitFor();
			await dialog.locator('img[src*="/full"]').evaluate(
				(img) =>
					/** @type {HTMLImageElement} */ (img).complete ||
					new Promise((done) => img.addEventListener('load', done, { once: true }))
			);
			await dialog.getByRole('button', { name: /^Face:/ }).waitFor();
			await imagesShown(page);
			await screenshot(page, 'suggestion-detail-phone');
			await dialog.getByRole('button', { name: 'Accept', exact: true }).click();
			await expectSuggestion(id, 'accepted', before.suggestedPersonId);
			await dialog.getByRole('button', { name: 'Close' }).click();

			await page.getByRole('button', { name: /^Recent \(1\)/ }).click();
			const drawer = page.getByRole('complementary', { name: 'Recently assigned' });
			await drawer.getByRole('button', { name: /^Undo:/ }).click();
			await expectSuggestion(id, 'pending', null);
		});
	});
});

describe('suggestions at desktop size', () => {
	test('groups by person with thresholds, counts and the page screenshot', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const grouped = await apiGet('/api/v1/faces/suggestions?grouped=true');
			assert.equal(grouped.totalGroups, 2);
			for (const person of persons) {
				const group = groupOf(page, person);
				await group.waitFor();
				const link = group.getByRole('link', { name: person.name });
				assert.equal(await link.getAttribute('href'), `/people/${person.id}`);
				const expected = grouped.groups.find((/** @type {any} */ g) => g.personId === person.id);
				await group.getByText(`${expected.pendingCount} pending suggestions`).waitFor();
				assert.equal((await idsIn(group)).length, expected.suggestions.length);
			}
			await page.getByRole('complementary', { name: 'Recently assigned' }).waitFor();
			await imagesShown(page);
			await screenshot(page, 'suggestions-desktop');
		});
	});

	test('accept in the detail view, then undo it from the recently assigned panel', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const [alice] = persons;
			const group = groupOf(page, alice);
			const { id, alternative } = await detailCandidate(alice);
			await group.locator(`[data-suggestion-id="${id}"]`).click();
			const dialog = page.getByRole('dialog', { name: `Suggestion: ${alice.name}` });
			await dialog.waitFor();
			if (alternative) {
				const others = dialog.getByRole('button', { name: 'Accept this instead' });
				await others.first().waitFor();
			}
			await dialog.locator('img[src*="/full"]').evaluate(
				(img) =>
					/** @type {HTMLImageElement} */ (img).complete ||
					new Promise((done) => img.addEventListener('load', done, { once: true }))
			);
			await dialog.getByRole('button', { name: `Face: ${alice.name}` }).waitFor();
			await imagesShown(page);
			await screenshot(page, 'suggestion-detail-desktop');

			await dialog.getByRole('button', { name: 'Accept', exact: true }).click();
			const accepted = await expectSuggestion(id, 'accepted', alice.id);
			// The detail view moved on to the next suggestion; close it.
			await page.keyboard.press('Escape');
			await dialog.waitFor({ state: 'detached' });

			const panel = page.getByRole('complementary', { name: 'Recently assigned' });
			const undo = panel.getByRole('button', { name: /^Undo:/ });
			await undo.waitFor();
			assert.equal(await undo.count(), 1);
			await panel.getByRole('link', { name: alice.name }).waitFor();
			await undo.click();
			await expectSuggestion(id, 'pending', null);
			await panel.getByText('Faces you accept here').waitFor();
			assert.equal((await face(accepted.faceInstanceId)).personId, null);
			await group.locator(`[data-suggestion-id="${id}"]`).waitFor();
		});
	});

	test('assign a face to a new person from the detail view, then undo', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const thumbnail = page.locator('[data-suggestion-id]').last();
			const id = Number(await thumbnail.getAttribute('data-suggestion-id'));
			const { faceInstanceId } = await suggestion(id);
			await thumbnail.click();
			const dialog = page.getByRole('dialog', { name: /^Suggestion:/ });
			const picker = dialog.getByRole('combobox', { name: 'Assign to another person' });
			await picker.fill('Stranger');
			await dialog.getByRole('option', { name: 'New person “Stranger”' }).click();
			const stranger = await eventually(async () => {
				const found = (await apiGet('/api/v1/persons?search=Stranger')).items;
				assert.equal(found.length, 1);
				return found[0];
			});
			assert.equal((await face(faceInstanceId)).personId, stranger.id);
			// The suggestion is closed (expired), the detail view moved on or closed.
			await eventually(async () => assert.equal((await suggestion(id)).status, 'expired'));
			if (await dialog.count()) await dialog.getByRole('button', { name: 'Close' }).click();

			const panel = page.getByRole('complementary', { name: 'Recently assigned' });
			await panel.getByRole('link', { name: 'Stranger' }).waitFor();
			await panel.getByRole('button', { name: /^Undo:/ }).click();
			await eventually(async () => assert.equal((await face(faceInstanceId)).personId, null));
			await panel.getByText('Faces you accept here').waitFor();
		});
	});

	test('reject with the keyboard, undo from the toast', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const [, bob] = persons;
			const group = groupOf(page, bob);
			const [first, second] = await idsIn(group);
			await group.locator(`[data-suggestion-id="${first}"]`).focus();
			await page.keyboard.press('ArrowRight');
			await page.keyboard.press('r');
			await expectSuggestion(second, 'rejected', null);
			// Focus moved on to the next suggestion of the page; the rejected one is gone.
			await group.locator(`[data-suggestion-id="${second}"]`).waitFor({ state: 'detached' });
			const focused = await page.evaluate(() =>
				document.activeElement?.getAttribute('data-suggestion-id')
			);
			assert.ok(focused, 'a thumbnail keeps the focus');

			const toast = page.getByRole('status').filter({ hasText: 'Rejected' });
			await toast.getByRole('button', { name: 'Undo' }).click();
			await expectSuggestion(second, 'pending', null);
			await group.locator(`[data-suggestion-id="${second}"]`).waitFor();

			// ? shows the shortcuts; Escape closes them.
			await page.keyboard.press('?');
			const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
			await help.waitFor();
			await page.keyboard.press('Escape');
			await help.waitFor({ state: 'detached' });
		});
	});

	test('select a group and accept it in bulk; find more follows by events', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const [, bob] = persons;
			const group = groupOf(page, bob);
			const ids = await idsIn(group);
			assert.ok(ids.length >= 2);
			await group.getByRole('checkbox', { name: 'Select group' }).check();
			const bar = page.getByRole('toolbar', { name: 'Selection' });
			await bar.getByText(`${ids.length} selected`).waitFor();
			await bar.getByRole('button', { name: 'Accept selected' }).click();
			for (const id of ids) await expectSuggestion(id, 'accepted', bob.id);
			await page.getByText(`Accepted ${ids.length} suggestions for ${bob.name}`).waitFor();
			// autoFindMore: a find-more job for Bob, reported by a toast when it ends.
			await page
				.getByText(new RegExp(`(Found \\d+ new suggestions?|No new suggestions) for ${bob.name}`))
				.waitFor({ timeout: 30_000 });
			await bar.getByText('0 selected').waitFor();
			const recent = page.getByRole('list', { name: 'Recently assigned faces' });
			assert.equal(await recent.getByRole('listitem').count(), Math.min(10, ids.length));
		});
	});

	test('find more for a person shows its progress and ends in a toast', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const [alice] = persons;
			await page.getByRole('button', { name: `Find more faces of ${alice.name}` }).click();
			await page
				.getByText(new RegExp(`(Found \\d+ new suggestions?|No new suggestions) for ${alice.name}`))
				.waitFor({ timeout: 30_000 });
			const jobs = await apiGet('/api/v1/jobs');
			const list = Array.isArray(jobs) ? jobs : jobs.items;
			const job = list.find(
				(/** @type {any} */ j) => j.personId === alice.id && j.kind.includes('centroid')
			);
			assert.ok(job, `no find-more-centroid job for ${alice.name}: ${JSON.stringify(list)}`);
			assert.equal(job.status, 'complete');
		});
	});

	test('select the page with Ctrl+A and reject in bulk; the status filter is in the URL', async () => {
		await withPage(DESKTOP, async ({ page }) => {
			await openSuggestions(page);
			const ids = await idsIn(page.getByRole('main'));
			await page.locator('[data-suggestion-id]').first().focus();
			await page.keyboard.press('Control+a');
			const bar = page.getByRole('toolbar', { name: 'Selection' });
			await bar.getByText(`${ids.length} selected`).waitFor();
			await bar.getByRole('button', { name: 'Reject selected' }).click();
			for (const id of ids) await expectSuggestion(id, 'rejected', null);

			await page.getByRole('combobox', { name: 'Status' }).selectOption('rejected');
			await page.waitForURL((url) => url.searchParams.get('status') === 'rejected');
			await page.reload();
			await page.locator('[data-suggestion-id]').first().waitFor();
			assert.equal(await page.getByRole('combobox', { name: 'Status' }).inputValue(), 'rejected');
			const shown = await idsIn(page.getByRole('main'));
			for (const id of shown) assert.equal((await suggestion(id)).status, 'rejected');
			assert.ok(shown.includes(ids[0]), 'the rejected suggestions are listed');
			await page.goBack();
			await page.waitForURL((url) => !url.searchParams.has('status'));
		});
	});
});
