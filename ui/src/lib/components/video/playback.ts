// Choosing how a browser plays a video clip: the original file when this browser says it can
// (HTMLMediaElement.canPlayType on the MIME type with its codecs parameter, RFC 6381), else the
// server's WebM transcode of the window. docs/architecture.md "Preview snippets".

export type ClipMode = 'original' | 'transcode';

/** What a <video> element plays: `url` from `start` to `end` seconds of its own timeline. */
export type ClipSource = {
	mode: ClipMode;
	url: string;
	start: number;
	end: number;
};

/** "m:ss" (or "h:mm:ss"), rounded down to the second. */
export function clock(seconds: number): string {
	const s = Math.max(0, Math.floor(seconds));
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const rest = String(s % 60).padStart(2, '0');
	return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${rest}` : `${m}:${rest}`;
}

/** True when this browser answers "probably" or "maybe" for the MIME type (null: no browser
 * plays the container, e.g. a raw .h264 stream). */
export function browserPlays(mimeType: string | null | undefined): boolean {
	if (!mimeType) return false;
	return document.createElement('video').canPlayType(mimeType) !== '';
}

/** `?clip=transcode` (or `original`) in the page URL forces that path: for tests and for
 * checking a transcode by hand. */
export function forcedMode(): ClipMode | null {
	const value = new URLSearchParams(window.location.search).get('clip');
	return value === 'transcode' || value === 'original' ? value : null;
}

/** The original when this browser can play its MIME type (or the URL forces a mode), else the
 * transcode. */
export function chooseMode(mimeType: string | null | undefined): ClipMode {
	return forcedMode() ?? (browserPlays(mimeType) ? 'original' : 'transcode');
}

/** The transcode of the window `start`..`end` (seconds of the video): its own timeline runs
 * from 0 to end - start. */
export function transcodeSource(url: string, start: number, end: number): ClipSource {
	return { mode: 'transcode', url, start: 0, end: end - start };
}

/** The source to play: the original from `start` to `end` when the browser can play it (or
 * the URL forces it), else the transcode (`transcodeSource`). */
export function chooseSource(
	original: { url: string; mimeType?: string | null },
	transcodeUrl: string,
	start: number,
	end: number
): ClipSource {
	return chooseMode(original.mimeType) === 'original'
		? { mode: 'original', url: `${original.url}#t=${start},${end}`, start, end }
		: transcodeSource(transcodeUrl, start, end);
}
