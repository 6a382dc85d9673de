// @ts-check
// Preview snippets: the ▶ badge of a face found in a video plays the few seconds around it. The
// original plays from the snippet's start (media fragment + currentTime) and stops at its end;
// with ?clip=transcode the server's WebM transcode of the window plays instead. Space plays and
// pauses, Escape closes the player (not the asset view under it). Also from the person's faces
// grid on a phone.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DESKTOP, PHONE, apiGet, apiPost, baseUrl, screenshot, withPage } from './lib.mjs';

/** The library's video (videos/liveportrait_source_s18.mp4) and its best face. */
async function videoFace() {
	const videos = await apiGet('/api/v1/assets?kind=video&status=done');
	const asset = videos.items.find((/** @type {{path: string}} */ a) => a.path.endsWith('liveportrait_source_s18.mp4'));
	assert.ok(asset, 'the e2e library has its video indexed');
	const detail = await apiGet(`/api/v1/assets/${asset.id}`);
	const face = detail.faces.find((/** @type {{videoTimestamp: number | null}} */ f) => f.videoTimestamp !== null);
	assert.ok(face, 'the video has a face with a timestamp');
	const snippet = await apiGet(`/api/v1/faces/${face.id}/snippet`);
	return { asset, face, snippet };
}

/**
 * The <video> of the open snippet player, once it reports where it started playing.
 * @param {import('playwright-core').Page} page
 */
async function startedVideo(page) {
	const player = page.getByTestId('snippet-player');
	const video = player.locator('video');
	await video.and(page.locator('[data-started-at]')).waitFor({ timeout: 30_000 });
	return video;
}

/** @param {import('playwright-core').Locator} video */
const state = (video) =>
	video.evaluate((/** @type {HTMLVideoElement} */ v) => ({
		mode: v.dataset.mode,
		startedAt: Number(v.dataset.startedAt),
		currentTime: v.currentTime,
		duration: v.duration,
		paused: v.paused,
		src: v.currentSrc
	}));

test('a video face plays its snippet from the original, starting near its timestamp', async () => {
	const { asset, face, snippet } = await videoFace();
	assert.ok(snippet.start <= face.videoTimestamp && face.videoTimestamp <= snippet.end);
	assert.equal(snippet.original.playable, true);
	await withPage(DESKTOP, async ({ page }) => {
		await page.goto(`${baseUrl}/library/asset/${asset.id}`);
		// The asset page plays the whole video (the original: Chromium plays H.264 + AAC).
		const whole = page.getByTestId('video-player').locator('video');
		await whole.waitFor();
		assert.equal(await whole.getAttribute('data-mode'), 'original');

		const play = page.getByRole('button', { name: `Play the video around face ${face.id}` });
		await play.click();
		const video = await startedVideo(page);
		const started = await state(video);
		assert.equal(started.mode, 'original');
		assert.ok(started.src.includes(`/api/v1/videos/${asset.id}/original#t=`), started.src);
		assert.ok(
			Math.abs(started.startedAt - snippet.start) <= 0.5,
			`the original started at ${started.startedAt} s, the snippet starts at ${snippet.start} s`
		);
		const caption = page.getByTestId('snippet-player').getByText(/^Face at /);
		const clock = (/** @type {number} */ s) => `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, '0')}`;
		assert.equal(
			(await caption.textContent())?.replace(/\s+/g, ' ').trim(),
			`Face at ${clock(snippet.timestamp)} · clip ${clock(snippet.start)}–${clock(snippet.end)}`
		);
		await screenshot(page, 'snippet-desktop');

		// It stops at the end of the window.
		await page.waitForFunction(
			() => /** @type {HTMLVideoElement | null} */ (document.querySelector('[data-testid="snippet-player"] video'))?.paused,
			null,
			{ timeout: 20_000 }
		);
		const stopped = await state(video);
		assert.ok(
			Math.abs(stopped.currentTime - snippet.end) <= 0.5,
			`stopped at ${stopped.currentTime} s, the snippet ends at ${snippet.end} s`
		);

		// Space plays it again from the start; Space again pauses.
		await page.keyboard.press('Space');
		await page.waitForFunction(
			() => !(/** @type {HTMLVideoElement} */ (document.querySelector('[data-testid="snippet-player"] video')).paused)
		);
		const again = await state(video);
		assert.ok(again.currentTime < snippet.start + 1, `replayed from ${again.currentTime} s`);
		await page.keyboard.press('Space');
		await page.waitForFunction(
			() => /** @type {HTMLVideoElement} */ (document.querySelector('[data-testid="snippet-player"] video')).paused
		);

		// Escape closes the player only: the asset view stays.
		await page.keyboard.press('Escape');
		await page.getByTestId('snippet-player').waitFor({ state: 'detached' });
		assert.equal(new URL(page.url()).pathname, `/library/asset/${asset.id}`);
		await page.getByTestId('video-player').waitFor();
	});
});

test('the transcode path plays a WebM of exactly the window', async () => {
	const { asset, face, snippet } = await videoFace();
	await withPage(DESKTOP, async ({ page }) => {
		// ?clip=transcode forces the transcode, as for a browser that cannot play the original.
		await page.goto(`${baseUrl}/library/asset/${asset.id}?clip=transcode`);
		await page.getByTestId('video-player').getByText(/playing a transcoded preview/).waitFor();
		await page.getByRole('button', { name: `Play the video around face ${face.id}` }).click();
		const player = page.getByTestId('snippet-player');
		await player.getByText(/Playing a transcoded preview/).waitFor();
		const video = await startedVideo(page);
		const started = await state(video);
		assert.equal(started.mode, 'transcode');
		assert.ok(started.src.endsWith(snippet.transcodeUrl), started.src);
		assert.ok(started.startedAt <= 0.5, `the transcode started at ${started.startedAt} s`);
		const window = snippet.end - snippet.start;
		assert.ok(
			Math.abs(started.duration - window) <= 0.5,
			`the transcode lasts ${started.duration} s, the window ${window} s`
		);
		// It plays: time advances.
		await page.waitForFunction(
			() => /** @type {HTMLVideoElement} */ (document.querySelector('[data-testid="snippet-player"] video')).currentTime > 1
		);
	});
	// The API serves the same cached WebM, with range requests.
	const response = await fetch(baseUrl + snippet.transcodeUrl, { headers: { Range: 'bytes=0-3' } });
	assert.equal(response.status, 206);
	assert.equal(response.headers.get('content-type'), 'video/webm');
	// The EBML magic number: a WebM (Matroska) file.
	assert.deepEqual([...new Uint8Array(await response.arrayBuffer())], [0x1a, 0x45, 0xdf, 0xa3]);
});

test('on a phone, a video face in a person grid plays its snippet', async () => {
	const { face, snippet } = await videoFace();
	// The clip's one face is too few for a cluster: give it a person directly.
	const named = await apiPost('/api/v1/faces/assign', { faceIds: [face.id], newPersonName: 'Video speaker' });
	assert.equal(named.processed, 1);
	await withPage(PHONE, async ({ page }) => {
		await page.goto(`${baseUrl}/people/${named.personId}`);
		const play = page.getByRole('button', { name: `Play the video around face ${face.id}` });
		await play.tap();
		const video = await startedVideo(page);
		const started = await state(video);
		assert.ok(Math.abs(started.startedAt - snippet.start) <= 0.5, `started at ${started.startedAt} s`);
		// The tile under the badge was not ticked by the tap.
		await page.getByRole('button', { name: 'Close' }).waitFor();
		const overflow = await page.evaluate(() => document.documentElement.scrollWidth > innerWidth);
		assert.equal(overflow, false, 'the snippet player scrolls sideways on a phone');
		await screenshot(page, 'snippet-phone');
		await page.getByRole('button', { name: 'Close' }).tap();
		await page.getByTestId('snippet-player').waitFor({ state: 'detached' });
		assert.equal(await page.getByRole('checkbox', { checked: true }).count(), 0);
	});
	const person = await apiGet(`/api/v1/persons/${named.personId}`);
	assert.equal(person.faceCount, 1);
});
