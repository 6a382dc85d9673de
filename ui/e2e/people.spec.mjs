// @ts-check
// People pages end to end, over a fresh library with ~8 unnamed clusters and no persons:
// name two clusters from the clusters tab, merge the two persons from the person page, remove
// two faces in bulk and undo, rename; every step is checked through the API too. Screenshots of
// the persons grid, the clusters tab and the person page at desktop and phone sizes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESKTOP, PHONE, apiGet, apiPost, baseUrl, screenshot, withPage } from './lib.mjs';

/** @typedef {import('playwright-core').Page} Page */

const FIRST = 'Ada Lovelace';
const SECOND = 'Grace Hopper';
const RENAMED = 'Grace B. Hopper';

/** @param {string} name */
async function personNamed(name) {
	const answer = await apiGet(`/api/v1/persons?search=${encodeURIComponent(name)}&includeHidden=true`);
	return answer.items.find((/** @type {any} */ p) => p.name === name);
}

/** Cluster ids of the API, largest first. */
async function clusterIds() {
	const answer = await apiGet('/api/v1/clusters?pageSize=500');
	return answer.items.map((/** @type {any} */ c) => c.id);
}

/** @param {number} faceId */
async function faceOwner(faceId) {
	return (await apiGet(`/api/v1/faces/${faceId}`)).personId;
}

/**
 * Ready for a screenshot: no toasts left, every <img> in the viewport loaded.
 * @param {Page} page
 */
async function settle(page) {
	const dismiss = page.getByRole('button', { name: 'Dismiss' });
	while ((await dismiss.count()) > 0) await dismiss.first().click();
	await page.waitForFunction(() =>
		[...document.images].every((img) => {
			const box = img.getBoundingClientRect();
			const inView = box.width > 0 && box.bottom > 0 && box.top < window.innerHeight;
			return !inView || img.complete;
		})
	);
}

/**
 * Name the cluster `clusterId` in its card: type the new name, pick "New person".
 * @param {Page} page @param {number} clusterId @param {string} name
 */
async function nameClusterInUi(page, clusterId, name) {
	const card = page.locator(`[data-testid="cluster-card"][data-cluster-id="${clusterId}"]`);
	const picker = card.getByRole('combobox', { name: 'Name this cluster' });
	await picker.click();
	await picker.fill(name);
	await card.getByRole('option', { name: `New person “${name}”` }).click();
	await page.getByRole('status').filter({ hasText: `: ${name} (new person)` }).waitFor();
	await card.waitFor({ state: 'detached' });
}

test('name clusters, merge persons, remove faces and undo, rename (desktop)', async () => {
	await withPage(DESKTOP, async ({ page }) => {
		const before = await apiGet('/api/v1/persons');
		assert.equal(before.total, 0, 'each spec starts without persons');
		const clusters = (await apiGet('/api/v1/clusters?pageSize=500')).items;
		assert.ok(clusters.length >= 4, `expected 4 or more unnamed clusters, got ${clusters.length}`);
		const [first, second] = clusters;

		// The persons tab is empty and fetches one page of persons for its first screen.
		/** @type {string[]} */
		const personRequests = [];
		page.on('request', (r) => {
			if (new URL(r.url()).pathname === '/api/v1/persons') personRequests.push(r.url());
		});
		await page.goto(baseUrl + '/people');
		await page.getByText('No named persons yet.').waitFor();
		assert.equal(personRequests.length, 1, `first screen: ${personRequests.join(', ')}`);

		// The clusters tab, in the URL.
		await page.getByRole('button', { name: 'Show unnamed clusters' }).click();
		await page.waitForURL((url) => url.searchParams.get('tab') === 'clusters');
		await page.getByTestId('cluster-card').first().waitFor();
		assert.equal(await page.getByTestId('cluster-card').count(), clusters.length);
		await settle(page);
		await screenshot(page, 'clusters-desktop');

		// Name the first cluster: a new person with the cluster's faces; the cluster is gone.
		await nameClusterInUi(page, first.id, FIRST);
		const ada = await personNamed(FIRST);
		assert.ok(ada, `${FIRST} exists`);
		assert.equal(ada.faceCount, first.faceCount);
		assert.ok(!(await clusterIds()).includes(first.id), 'the named cluster is gone');

		// Name the second one.
		await nameClusterInUi(page, second.id, SECOND);
		const grace = await personNamed(SECOND);
		assert.ok(grace, `${SECOND} exists`);
		assert.equal(grace.faceCount, second.faceCount);
		assert.ok(!(await clusterIds()).includes(second.id));

		// The persons tab shows both, largest first.
		await page.getByRole('tab', { name: 'Named persons' }).click();
		await page.waitForURL((url) => !url.searchParams.has('tab'));
		await page.getByRole('link', { name: new RegExp(FIRST) }).waitFor();
		await page.getByRole('link', { name: new RegExp(SECOND) }).waitFor();
		await settle(page);
		await screenshot(page, 'people-desktop');

		// Search narrows the grid.
		await page.getByRole('searchbox', { name: 'Search persons' }).fill('lovel');
		await page.getByRole('link', { name: new RegExp(SECOND) }).waitFor({ state: 'detached' });
		await page.getByRole('link', { name: new RegExp(FIRST) }).click();
		await page.waitForURL((url) => url.pathname === `/people/${ada.id}`);
		await page.getByRole('heading', { level: 1, name: FIRST }).waitFor();

		// Merge Ada into Grace from Ada's page: picker, confirmation, then Grace's page.
		await page.getByRole('button', { name: 'Merge into…' }).click();
		const picker = page.getByRole('combobox', { name: 'Merge into' });
		await picker.fill('Grace');
		await page.getByRole('option', { name: new RegExp(SECOND) }).click();
		const confirm = page.getByRole('dialog', { name: 'Merge persons' });
		await confirm
			.getByText(`Merge ${FIRST} into ${SECOND}: ${first.faceCount} faces move, ${FIRST} is deleted.`)
			.waitFor();
		await confirm.getByRole('button', { name: 'Merge' }).click();
		await page.waitForURL((url) => url.pathname === `/people/${grace.id}`);
		await page.getByRole('heading', { level: 1, name: SECOND }).waitFor();
		const total = first.faceCount + second.faceCount;
		const persons = await apiGet('/api/v1/persons');
		assert.equal(persons.total, 1, 'one person left after the merge');
		assert.equal(persons.items[0].id, grace.id);
		assert.equal(persons.items[0].faceCount, total);
		await assert.rejects(apiGet(`/api/v1/persons/${ada.id}`), /answered 404/);
		await page.getByTestId('face-count').filter({ hasText: `${total} faces` }).waitFor();

		// Remove two faces in bulk, then Undo.
		const tiles = page.getByTestId('face-tile');
		await tiles.nth(total - 1).waitFor();
		assert.equal(await tiles.count(), total);
		/** @param {number} i */
		const faceIdOf = async (i) =>
			Number(/Face (\d+)/.exec((await tiles.nth(i).getAttribute('aria-label')) ?? '')?.[1]);
		const removed = [await faceIdOf(0), await faceIdOf(1)];
		const cover = (await apiGet(`/api/v1/persons/${grace.id}`)).coverFaceId;
		await tiles.nth(0).click();
		await tiles.nth(1).click();
		assert.equal(await tiles.nth(0).getAttribute('aria-checked'), 'true');
		await page.getByText('2 selected').waitFor();
		await page.getByRole('button', { name: 'Remove from person' }).click();
		const removedToast = page.getByRole('status').filter({ hasText: `2 faces removed from ${SECOND}` });
		await removedToast.waitFor();
		assert.equal((await apiGet(`/api/v1/persons/${grace.id}`)).faceCount, total - 2);
		for (const id of removed) assert.equal(await faceOwner(id), null, `face ${id} unassigned`);
		await page.getByTestId('face-count').filter({ hasText: `${total - 2} faces` }).waitFor();
		await removedToast.getByRole('button', { name: 'Undo' }).click();
		await page.getByRole('status').filter({ hasText: `2 faces back with ${SECOND}` }).waitFor();
		const back = await apiGet(`/api/v1/persons/${grace.id}`);
		assert.equal(back.faceCount, total);
		assert.equal(back.coverFaceId, cover, 'Undo keeps the cover face');
		for (const id of removed) assert.equal(await faceOwner(id), grace.id, `face ${id} is back`);
		await page.getByTestId('face-count').filter({ hasText: `${total} faces` }).waitFor();

		// Shift-click selects a range; Clear empties the selection.
		await tiles.nth(0).click();
		await tiles.nth(3).click({ modifiers: ['Shift'] });
		await page.getByText('4 selected').waitFor();
		await page.getByRole('button', { name: 'Clear', exact: true }).click();

		// Rename inline.
		await page.getByRole('button', { name: 'Rename' }).click();
		await page.getByRole('textbox', { name: 'Name' }).fill(RENAMED);
		await page.getByRole('textbox', { name: 'Name' }).press('Enter');
		await page.getByRole('heading', { level: 1, name: RENAMED }).waitFor();
		assert.equal((await apiGet(`/api/v1/persons/${grace.id}`)).name, RENAMED);

		// Name a third cluster into the existing person with one face unticked, then Undo.
		const third = clusters[2];
		await page.getByRole('link', { name: '← People' }).click();
		await page.getByRole('tab', { name: /Unnamed clusters/ }).click();
		const card = page.locator(`[data-testid="cluster-card"][data-cluster-id="${third.id}"]`);
		await card.getByRole('button', { name: 'Review faces' }).click();
		const reviewTiles = card.getByTestId('face-tile');
		await reviewTiles.nth(third.faceCount - 1).waitFor();
		const label = (await reviewTiles.first().getAttribute('aria-label')) ?? '';
		const skippedId = Number(/Face (\d+)/.exec(label)?.[1]);
		await reviewTiles.first().click();
		assert.equal(await reviewTiles.first().getAttribute('aria-checked'), 'false');
		await card.getByText(`${third.faceCount - 1} will be named`).waitFor();
		await card.getByRole('combobox', { name: 'Name this cluster' }).fill('grace b');
		await card.getByRole('option', { name: RENAMED }).click();
		const added = page
			.getByRole('status')
			.filter({ hasText: `Added ${third.faceCount - 1} faces to ${RENAMED}` });
		await added.waitFor();
		assert.equal(
			(await apiGet(`/api/v1/persons/${grace.id}`)).faceCount,
			total + third.faceCount - 1
		);
		assert.equal(await faceOwner(skippedId), null, 'the unticked face stays unassigned');
		assert.equal((await apiGet('/api/v1/persons')).total, 1, 'no new person');
		await added.getByRole('button', { name: 'Undo' }).click();
		await page.getByRole('status').filter({ hasText: 'Undone:' }).waitFor();
		assert.equal((await apiGet(`/api/v1/persons/${grace.id}`)).faceCount, total);

		// Undo of a naming that created a person deletes that person again.
		const fourth = clusters[3];
		await nameClusterInUi(page, fourth.id, 'Temporary Name');
		const temporary = await personNamed('Temporary Name');
		assert.equal(temporary.faceCount, fourth.faceCount);
		await page
			.getByRole('status')
			.filter({ hasText: 'Temporary Name (new person)' })
			.getByRole('button', { name: 'Undo' })
			.click();
		await page.getByRole('status').filter({ hasText: 'Temporary Name removed' }).waitFor();
		await assert.rejects(apiGet(`/api/v1/persons/${temporary.id}`), /answered 404/);
		// ... and its faces are a cluster again (a new one), listed without a reload
		const regrouped = (await apiGet('/api/v1/clusters?pageSize=500')).items.filter(
			(/** @type {{id: number}} */ c) => !clusters.some((old) => old.id === c.id)
		);
		const restored = regrouped.find(
			(/** @type {{faceCount: number}} */ c) => c.faceCount === fourth.faceCount
		);
		assert.ok(restored, `a cluster of ${fourth.faceCount} faces is back: ${JSON.stringify(regrouped)}`);
		await page.locator(`[data-testid="cluster-card"][data-cluster-id="${restored.id}"]`).waitFor();

		// Typing a new name and pressing Enter at once names a new person: the persons listed on
		// focus (an empty search) are stale and must not be picked.
		assert.ok(clusters.length >= 5, 'a fifth cluster to name with Enter');
		const fifth = clusters[4];
		const quickCard = page.locator(`[data-testid="cluster-card"][data-cluster-id="${fifth.id}"]`);
		const quickPicker = quickCard.getByRole('combobox', { name: 'Name this cluster' });
		await quickPicker.click();
		await quickCard.getByRole('option', { name: RENAMED }).waitFor();
		await quickPicker.fill('Quick Enter');
		await quickPicker.press('Enter');
		await page.getByRole('status').filter({ hasText: ': Quick Enter (new person)' }).waitFor();
		const quick = await personNamed('Quick Enter');
		assert.ok(quick, 'Enter created the typed person');
		assert.equal(quick.faceCount, fifth.faceCount);
		assert.equal(
			(await apiGet(`/api/v1/persons/${grace.id}`)).faceCount,
			total,
			`${RENAMED} got no faces`
		);

		// The photos tab lists the person's assets, linking to the library.
		await page.goto(`${baseUrl}/people/${grace.id}`);
		await page.getByRole('tab', { name: 'Photos' }).click();
		await page.waitForURL((url) => url.searchParams.get('tab') === 'photos');
		const assets = await apiGet(`/api/v1/assets?personId=${grace.id}&pageSize=1`);
		await page.locator('a[href^="/library/asset/"]').first().waitFor();
		assert.ok(assets.total > 0);
		await page.getByRole('tab', { name: /Faces/ }).click();
		await tiles.nth(2).click();
		await tiles.nth(4).click({ modifiers: ['Shift'] });
		await page.getByText('3 selected').waitFor();
		await settle(page);
		await screenshot(page, 'person-desktop');
	});
});

test('people pages at phone size: 44 px targets, screenshots', async () => {
	// Name one cluster through the API so that every page has content.
	const clusters = (await apiGet('/api/v1/clusters?pageSize=500')).items;
	assert.ok(clusters.length > 0);
	let person = (await apiGet('/api/v1/persons')).items[0];
	await withPage(PHONE, async ({ page }) => {
		await page.goto(baseUrl + '/people?tab=clusters');
		await page.getByTestId('cluster-card').first().waitFor();
		await settle(page);
		await screenshot(page, 'clusters-phone');

		if (!person) {
			const id = (await page.getByTestId('cluster-card').first().getAttribute('data-cluster-id')) ?? '';
			await nameClusterInUi(page, Number(id), 'Phone Person');
			person = await personNamed('Phone Person');
		}

		await page.getByRole('tab', { name: 'Named persons' }).click();
		await page.getByTestId('person-card').first().waitFor();
		await settle(page);
		await screenshot(page, 'people-phone');

		await page.getByTestId('person-card').first().click();
		await page.waitForURL((url) => /^\/people\/\d+$/.test(url.pathname));
		await page.getByTestId('face-tile').first().waitFor();
		await page.getByTestId('face-tile').first().tap();
		await page.getByText('1 selected').waitFor();
		await settle(page);
		await screenshot(page, 'person-phone');

		// Every button and link of the page is at least 44 px high.
		const small = await page.evaluate(() =>
			[...document.querySelectorAll('main button, main a, main input:not([type="checkbox"])')]
				.filter((el) => {
					const box = el.getBoundingClientRect();
					return box.width > 0 && box.height > 0 && box.height < 43.5;
				})
				.map((el) => `${el.tagName} "${el.textContent?.trim() || el.getAttribute('aria-label')}"`)
		);
		assert.deepEqual(small, [], 'targets under 44 px');
	});
});

test('person actions: hide, birth date, cover, prototype, find more, not this person, delete', async () => {
	const cluster = (await apiGet('/api/v1/clusters?pageSize=1')).items[0];
	assert.ok(cluster, 'an unnamed cluster is left');
	const named = await apiPost(`/api/v1/clusters/${cluster.id}/name`, { name: 'Katherine Johnson' });
	const id = named.personId;
	await withPage(DESKTOP, async ({ page }) => {
		await page.goto(`${baseUrl}/people/${id}`);
		await page.getByRole('heading', { level: 1, name: 'Katherine Johnson' }).waitFor();

		// Hide and show again.
		await page.getByRole('button', { name: 'Hide', exact: true }).click();
		await page.getByText('Hidden', { exact: true }).waitFor();
		assert.equal((await apiGet(`/api/v1/persons/${id}`)).hidden, true);
		await page.getByRole('button', { name: 'Show', exact: true }).click();
		await page.getByText('Hidden', { exact: true }).waitFor({ state: 'detached' });
		assert.equal((await apiGet(`/api/v1/persons/${id}`)).hidden, false);

		// Birth date.
		await page.getByRole('button', { name: 'Add birth date' }).click();
		await page.getByLabel('Birth date').fill('1918-08-26');
		await page.getByRole('button', { name: 'Save' }).click();
		await page.getByRole('button', { name: 'Born 1918-08-26' }).waitFor();
		assert.equal((await apiGet(`/api/v1/persons/${id}`)).birthDate, '1918-08-26');

		// One face selected: set it as the cover, pin it, unpin it.
		const tiles = page.getByTestId('face-tile');
		await tiles.nth(named.facesAssigned - 1).waitFor();
		const label = (await tiles.nth(1).getAttribute('aria-label')) ?? '';
		const faceId = Number(/Face (\d+)/.exec(label)?.[1]);
		await tiles.nth(1).click();
		await page.getByRole('button', { name: 'Set as cover' }).click();
		await page.getByRole('status').filter({ hasText: 'Cover face changed' }).waitFor();
		assert.equal((await apiGet(`/api/v1/persons/${id}`)).coverFaceId, faceId);
		await page.getByRole('button', { name: 'Pin as prototype' }).click();
		await page.getByRole('button', { name: 'Unpin prototype' }).waitFor();
		const pinned = (await apiGet(`/api/v1/persons/${id}`)).prototypes.filter(
			(/** @type {any} */ p) => p.role === 'pinned'
		);
		assert.deepEqual(
			pinned.map((/** @type {any} */ p) => p.faceId),
			[faceId]
		);
		await page.getByRole('button', { name: 'Unpin prototype' }).click();
		await page.getByRole('button', { name: 'Pin as prototype' }).waitFor();
		const after = (await apiGet(`/api/v1/persons/${id}`)).prototypes;
		assert.ok(!after.some((/** @type {any} */ p) => p.role === 'pinned'), 'unpinned');

		// "Not this person" asks first, then takes the face away for good (Undo puts it back).
		await page.getByRole('button', { name: 'Not this person…' }).click();
		const dialog = page.getByRole('dialog', { name: 'Not Katherine Johnson' });
		await dialog.getByRole('button', { name: 'Not this person' }).click();
		const toast = page.getByRole('status').filter({ hasText: '1 face removed from Katherine' });
		await toast.waitFor();
		assert.equal(await faceOwner(faceId), null);
		assert.equal((await apiGet(`/api/v1/persons/${id}`)).faceCount, named.facesAssigned - 1);
		await toast.getByRole('button', { name: 'Undo' }).click();
		await page.getByRole('status').filter({ hasText: '1 face back with Katherine' }).waitFor();
		assert.equal(await faceOwner(faceId), id);

		// Find more: a job; its end comes as a toast that links to the person's suggestions.
		await page.getByRole('button', { name: 'Find more' }).click();
		const done = page.getByRole('status').filter({ hasText: 'Find more for Katherine Johnson' });
		await done.waitFor({ timeout: 60_000 });
		await done.getByRole('button', { name: 'Review' }).click();
		await page.waitForURL((url) => url.pathname === '/suggestions' && url.searchParams.get('person') === String(id));

		// Delete, after a confirmation: the faces are unassigned, the person is gone.
		await page.goto(`${baseUrl}/people/${id}`);
		await page.getByRole('button', { name: 'Delete', exact: true }).click();
		await page
			.getByRole('dialog', { name: 'Delete Katherine Johnson' })
			.getByRole('button', { name: 'Delete' })
			.click();
		await page.waitForURL((url) => url.pathname === '/people');
		await assert.rejects(apiGet(`/api/v1/persons/${id}`), /answered 404/);
		assert.equal(await faceOwner(faceId), null);
	});
});
