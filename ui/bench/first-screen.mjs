// @ts-check
// Time to the first screen of a page in Debian's Chromium (playwright-core), for
// bench/ui_first_screen.py. For every URL in PAGES (comma separated) and RUNS times, a fresh
// browser context (empty cache, like a first visit) opens BASE_URL + page and waits until the
// viewport holds at least MIN_IMAGES images and every image in the viewport has been decoded
// (complete, naturalWidth > 0), with no spinner ([role=status]) left on screen. The time is
// read in the page as performance.now(): milliseconds since the navigation started.
// Prints one JSON object: {"<page>": {"runs": [ms...], "cells": n}, ...}.
import { chromium } from 'playwright-core';

const baseUrl = process.env.BASE_URL ?? 'http://127.0.0.1:8000';
const pages = (process.env.PAGES ?? '/library,/people').split(',');
const runs = Number(process.env.RUNS ?? '5');
const minImages = Number(process.env.MIN_IMAGES ?? '12');
const width = Number(process.env.WIDTH ?? '1440');
const height = Number(process.env.HEIGHT ?? '900');

const browser = await chromium.launch({
	executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
	args: ['--no-sandbox']
});
/** @type {Record<string, {runs: number[], images: number}>} */
const results = {};
try {
	for (const path of pages) {
		results[path] = { runs: [], images: 0 };
		for (let run = 0; run < runs; run++) {
			const context = await browser.newContext({ viewport: { width, height } });
			const page = await context.newPage();
			await page.goto(baseUrl + path, { waitUntil: 'commit' });
			const handle = await page.waitForFunction(
				(min) => {
					const inView = [...document.querySelectorAll('img')].filter((img) => {
						const r = img.getBoundingClientRect();
						return r.width > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
					});
					const spinners = [...document.querySelectorAll('[role=status]')].filter(
						(s) => s.getBoundingClientRect().height > 0 && s.textContent?.includes('Loading')
					);
					const decoded = inView.every((img) => img.complete && img.naturalWidth > 0);
					if (inView.length >= min && decoded && spinners.length === 0) {
						return { ms: performance.now(), images: inView.length };
					}
					return null;
				},
				minImages,
				{ polling: 'raf', timeout: 30000 }
			);
			const value = /** @type {{ms: number, images: number}} */ (await handle.jsonValue());
			results[path].runs.push(Math.round(value.ms));
			results[path].images = value.images;
			await context.close();
		}
	}
} finally {
	await browser.close();
}
console.log(JSON.stringify(results));
