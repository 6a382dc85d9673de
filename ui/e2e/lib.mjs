// @ts-check
// Helpers of the end-to-end specs (ui/e2e/*.spec.mjs). The specs run under `node --test`, started
// by tests/e2e/test_ui.py against a real `image-search serve` over a freshly indexed library:
//   BASE_URL        the server, e.g. http://127.0.0.1:54321 (no trailing slash)
//   SCREENSHOT_DIR  where screenshot() writes <name>.png (default: docs/screenshots of the repo)
//   CHROMIUM        the Chromium executable (default /usr/bin/chromium)
// Every page opened by launch() records uncaught exceptions, console errors and API answers with
// a status >= 500; close() throws if any was seen, so a page that breaks fails its test.
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

/** @typedef {import('playwright-core').Browser} Browser */
/** @typedef {import('playwright-core').BrowserContext} BrowserContext */
/** @typedef {import('playwright-core').Page} Page */

/**
 * @typedef {object} Viewport
 * @property {number} width CSS pixels
 * @property {number} height CSS pixels
 * @property {boolean} [isMobile] mobile meta viewport and touch events (phone emulation)
 * @property {boolean} [hasTouch] touch events
 */

/**
 * @typedef {Viewport & { allowErrors?: (string | RegExp)[] }} LaunchOptions
 * allowErrors: errors to tolerate; a string matches when contained in the error text, a RegExp
 * when it matches it (e.g. a spec that provokes a 500 on purpose).
 */

/**
 * @typedef {object} Launched
 * @property {Browser} browser
 * @property {BrowserContext} context
 * @property {Page} page the page, default timeout 15 s
 * @property {string} baseUrl BASE_URL without a trailing slash
 * @property {string[]} errors errors recorded so far (uncaught, console, API >= 500)
 * @property {(pattern: string | RegExp) => void} allowError tolerate one more kind of error
 * @property {() => Promise<void>} close closes the browser; throws if errors were recorded
 */

/** Desktop viewport (CSS pixels). */
export const DESKTOP = Object.freeze({ width: 1440, height: 900 });
/** Phone viewport (CSS pixels), with mobile emulation and touch. */
export const PHONE = Object.freeze({ width: 390, height: 844, isMobile: true, hasTouch: true });

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The server under test, without a trailing slash. */
export const baseUrl = (process.env.BASE_URL ?? 'http://127.0.0.1:8000').replace(/\/+$/, '');

/** Where screenshot() writes. */
export const screenshotDir = process.env.SCREENSHOT_DIR ?? resolve(repo, 'docs', 'screenshots');

// Chromium logs every non-2xx fetch as a console error ("Failed to load resource: the server
// responded with a status of 404"). That is network noise, not an error of the app: 4xx answers
// are handled by the UI and >= 500 answers of the API are recorded by the response listener.
const NETWORK_NOISE = /^Failed to load resource: /;

/**
 * @param {string} text
 * @param {(string | RegExp)[]} allowed
 */
function isAllowed(text, allowed) {
	return allowed.some((p) => (typeof p === 'string' ? text.includes(p) : p.test(text)));
}

/**
 * Start Chromium with a fresh context of the given viewport (device scale factor 1) and one page.
 *
 * @param {LaunchOptions} options
 * @returns {Promise<Launched>}
 */
export async function launch({ width, height, isMobile = false, hasTouch = false, allowErrors = [] }) {
	const browser = await chromium.launch({
		executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
		args: ['--no-sandbox']
	});
	try {
		const context = await browser.newContext({
			viewport: { width, height },
			deviceScaleFactor: 1,
			isMobile,
			hasTouch
		});
		const page = await context.newPage();
		page.setDefaultTimeout(15_000);
		const allowed = [...allowErrors];
		/** @type {string[]} */
		const errors = [];
		/** @param {string} text */
		const record = (text) => {
			if (!isAllowed(text, allowed)) errors.push(text);
		};
		page.on('pageerror', (error) => record(`uncaught ${error.stack ?? error.message}`));
		page.on('console', (message) => {
			if (message.type() !== 'error' || NETWORK_NOISE.test(message.text())) return;
			const where = message.location();
			record(`console.error ${message.text()} (at ${where.url}:${where.lineNumber})`);
		});
		page.on('response', (response) => {
			const url = new URL(response.url());
			if (response.status() >= 500 && url.pathname.startsWith('/api/')) {
				const method = response.request().method();
				record(`HTTP ${response.status()} ${method} ${url.pathname}${url.search}`);
			}
		});
		let closed = false;
		return {
			browser,
			context,
			page,
			baseUrl,
			errors,
			allowError: (pattern) => void allowed.push(pattern),
			async close() {
				if (closed) return;
				closed = true;
				await browser.close();
				if (errors.length > 0) {
					throw new Error(
						`the page reported ${errors.length} error(s):\n` + errors.map((e) => `  - ${e}`).join('\n')
					);
				}
			}
		};
	} catch (error) {
		await browser.close();
		throw error;
	}
}

/**
 * launch(), run `body`, close. When `body` fails, its error is the one thrown, with the errors
 * the page recorded appended to the message; otherwise close() reports the page's errors.
 *
 * @template T
 * @param {LaunchOptions} options
 * @param {(launched: Launched) => Promise<T>} body
 * @returns {Promise<T>}
 */
export async function withPage(options, body) {
	const launched = await launch(options);
	/** @type {T} */
	let result;
	try {
		result = await body(launched);
	} catch (error) {
		const recorded = [...launched.errors];
		await launched.close().catch(() => {});
		if (recorded.length > 0 && error instanceof Error) {
			error.message += `\npage errors:\n${recorded.map((e) => `  - ${e}`).join('\n')}`;
		}
		throw error;
	}
	await launched.close();
	return result;
}

/**
 * Call the API of the server under test.
 *
 * @param {string} method
 * @param {string} path absolute path, e.g. /api/v1/persons?search=amy
 * @param {unknown} [body] sent as JSON when given
 * @returns {Promise<any>} the parsed JSON answer (null for an empty answer, e.g. 204)
 * @throws {Error} on a non-2xx answer, with method, path, status and the answer's text
 */
async function request(method, path, body) {
	/** @type {RequestInit} */
	const init = { method, headers: { accept: 'application/json' } };
	if (body !== undefined) {
		init.body = JSON.stringify(body);
		init.headers = { ...init.headers, 'content-type': 'application/json' };
	}
	const response = await fetch(baseUrl + path, init);
	const text = await response.text();
	if (!response.ok) {
		throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
	}
	return text ? JSON.parse(text) : null;
}

/** GET `path` → parsed JSON; throws on a non-2xx answer. @param {string} path */
export const apiGet = (path) => request('GET', path);
/** POST `body` as JSON → parsed JSON. @param {string} path @param {unknown} [body] */
export const apiPost = (path, body) => request('POST', path, body);
/** PATCH `body` as JSON → parsed JSON. @param {string} path @param {unknown} [body] */
export const apiPatch = (path, body) => request('PATCH', path, body);
/** DELETE → parsed JSON (null when empty). @param {string} path @param {unknown} [body] */
export const apiDelete = (path, body) => request('DELETE', path, body);

/**
 * Poll GET /api/v1/jobs/{jobId} until the job is complete or failed.
 *
 * @param {string} jobId
 * @param {{ timeoutMs?: number, intervalMs?: number }} [options] default 60 s, every 250 ms
 * @returns {Promise<any>} the finished job (check `status`: "complete" or "failed")
 * @throws {Error} when the job is still queued or running after timeoutMs
 */
export async function waitForJob(jobId, { timeoutMs = 60_000, intervalMs = 250 } = {}) {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const job = await apiGet(`/api/v1/jobs/${encodeURIComponent(jobId)}`);
		if (job.status === 'complete' || job.status === 'failed') return job;
		if (Date.now() > deadline) {
			throw new Error(`job ${jobId} not finished after ${timeoutMs} ms: ${JSON.stringify(job)}`);
		}
		await new Promise((done) => setTimeout(done, intervalMs));
	}
}

/**
 * Write a screenshot of the viewport (not the full page) to SCREENSHOT_DIR/<name>.png.
 *
 * @param {Page} page
 * @param {string} name e.g. people-desktop
 * @returns {Promise<string>} the file written
 */
export async function screenshot(page, name) {
	await mkdir(screenshotDir, { recursive: true });
	const path = resolve(screenshotDir, `${name}.png`);
	await page.screenshot({ path, fullPage: false, animations: 'disabled' });
	return path;
}
