// The library's asset listing: the filters (kept in the URL), and a page cache over
// GET /api/v1/assets that loads only the pages in view (plus one ahead), newest request first,
// so that scrolling through 100,000 assets stays smooth. The grid and the asset view share one
// listing, so prev/next in the asset view walks the same order as the grid.
import { api, call, errorMessage } from '$lib/api/client';
import type { Asset } from '$lib/api/types';

/** Assets per request (index-based pages: page p holds indices (p-1)*PAGE_SIZE ..). */
export const PAGE_SIZE = 200;
/** Requests in flight at once; the rest wait, and are dropped when scrolled out of view. */
const MAX_IN_FLIGHT = 2;
/** The page after the view is fetched this long after scrolling stops. */
const AHEAD_DELAY_MS = 600;

export type AssetKind = 'image' | 'video';

export interface ListingFilters {
	/** Absolute folder path, or null for every asset. */
	folder: string | null;
	/** With `folder`: include the assets of its subfolders. */
	recursive: boolean;
	hasFaces: boolean | null;
	kind: AssetKind | null;
}

/** The filters in a URL's query (?folder=..&recursive=1&faces=yes&kind=video). */
export function filtersFromUrl(url: URL): ListingFilters {
	const q = url.searchParams;
	const faces = q.get('faces');
	const kind = q.get('kind');
	return {
		folder: q.get('folder') || null,
		recursive: q.get('recursive') !== '0',
		hasFaces: faces === 'yes' ? true : faces === 'no' ? false : null,
		kind: kind === 'image' || kind === 'video' ? kind : null
	};
}

/** The query string (without "?") that `filtersFromUrl` reads back. */
export function filtersToQuery(filters: ListingFilters): string {
	const q = new URLSearchParams();
	if (filters.folder) {
		q.set('folder', filters.folder);
		q.set('recursive', filters.recursive ? '1' : '0');
	}
	if (filters.hasFaces !== null) q.set('faces', filters.hasFaces ? 'yes' : 'no');
	if (filters.kind) q.set('kind', filters.kind);
	return q.toString();
}

/** `/library` with the filters, plus any extra query parameters. */
export function libraryHref(filters: ListingFilters): string {
	const query = filtersToQuery(filters);
	return query ? `/library?${query}` : '/library';
}

/** The URL of an asset, carrying the listing it was opened from and its index in it. */
export function assetHref(id: number, filters: ListingFilters, index: number | null): string {
	const q = new URLSearchParams(filtersToQuery(filters));
	if (index !== null) q.set('i', String(index));
	const query = q.toString();
	return `/library/asset/${id}${query ? `?${query}` : ''}`;
}

export class AssetListing {
	readonly filters: ListingFilters;
	readonly key: string;
	/** Number of assets matching the filters; null until the first page arrived. */
	total = $state<number | null>(null);
	/** Loaded pages by page number (1-based). */
	pages = $state.raw<Record<number, Asset[]>>({});
	/** The last failure, cleared by a successful request. */
	error = $state<string | null>(null);
	readonly createdAt = Date.now();
	/** The library status (liveRefresh.ts `changeKey`) its pages were loaded with, once known. */
	statusKey: string | null = null;

	/** The cells last in view (`want`), for `refresh`. */
	#view = { start: 0, end: 0 };
	#inFlight = new Map<number, Promise<Asset[]>>();
	#queue: number[] = [];
	#aheadTimer: ReturnType<typeof setTimeout> | undefined;
	#waiters = new Map<number, { resolve: (a: Asset[]) => void; reject: (e: unknown) => void }[]>();

	constructor(filters: ListingFilters) {
		this.filters = { ...filters };
		this.key = filtersToQuery(filters);
	}

	/** The asset at `index` when its page is loaded. */
	at(index: number): Asset | undefined {
		return this.pages[Math.floor(index / PAGE_SIZE) + 1]?.[index % PAGE_SIZE];
	}

	/** The index of asset `id` among the loaded pages, or null. */
	indexOf(id: number): number | null {
		for (const [page, items] of Object.entries(this.pages)) {
			const i = items.findIndex((a) => a.id === id);
			if (i >= 0) return (Number(page) - 1) * PAGE_SIZE + i;
		}
		return null;
	}

	/** Load the first page (and the total). Safe to call again: answers from the cache. */
	first(): Promise<Asset[]> {
		return this.load(1);
	}

	/** The asset at `index`, loading its page first if needed; undefined past the end. */
	async fetchAt(index: number): Promise<Asset | undefined> {
		if (index < 0 || (this.total !== null && index >= this.total)) return undefined;
		const items = await this.load(Math.floor(index / PAGE_SIZE) + 1);
		return items[index % PAGE_SIZE];
	}

	/**
	 * Cells `start`..`end` (exclusive) are in view: queue their pages now and the next page
	 * once scrolling settles. Pages queued for an earlier range and not started yet are dropped.
	 */
	want(start: number, end: number): void {
		if (end <= start && this.total !== 0) end = start + 1;
		this.#view = { start, end };
		const firstPage = Math.floor(start / PAGE_SIZE) + 1;
		const lastPage = Math.floor(Math.max(start, end - 1) / PAGE_SIZE) + 1;
		const maxPage = this.total === null ? lastPage : Math.ceil(this.total / PAGE_SIZE);
		const wanted: number[] = [];
		for (let p = firstPage; p <= Math.min(lastPage, maxPage); p++) wanted.push(p);
		// Drop queued pages nobody waits for that are no longer in view.
		this.#queue = this.#queue.filter((p) => wanted.includes(p) || this.#waiters.has(p));
		for (const p of wanted) this.#enqueue(p);
		this.#pump();
		// One page ahead, once the view has settled: it must not slow down what is in view
		// (the first screen's thumbnails, or the pages of a fast scroll).
		clearTimeout(this.#aheadTimer);
		const ahead = lastPage + 1;
		if (this.total === null || ahead <= maxPage) {
			this.#aheadTimer = setTimeout(() => {
				if (this.total !== null && ahead > Math.ceil(this.total / PAGE_SIZE)) return;
				this.#enqueue(ahead);
				this.#pump();
			}, AHEAD_DELAY_MS);
		}
	}

	#enqueue(page: number): void {
		if (!(page in this.pages) && !this.#inFlight.has(page) && !this.#queue.includes(page)) {
			this.#queue.push(page);
		}
	}

	/** Page `page` (1-based) from the cache, or fetched now (ahead of the queue). */
	load(page: number): Promise<Asset[]> {
		const cached = this.pages[page];
		if (cached) return Promise.resolve(cached);
		const running = this.#inFlight.get(page);
		if (running) return running;
		return new Promise((resolve, reject) => {
			const list = this.#waiters.get(page) ?? [];
			list.push({ resolve, reject });
			this.#waiters.set(page, list);
			this.#queue = [page, ...this.#queue.filter((p) => p !== page)];
			this.#pump();
		});
	}

	/**
	 * The library changed (assets added, a stage reached, files gone): fetch the pages in view
	 * again, with the total, and forget the others (fetched again when scrolled to). The pages
	 * shown stay until the fresh ones arrive, so nothing flickers and the scroll position holds.
	 */
	async refresh(): Promise<void> {
		const { start, end } = this.#view;
		const first = Math.floor(start / PAGE_SIZE) + 1;
		const last = Math.floor(Math.max(start, end - 1) / PAGE_SIZE) + 1;
		const inView: number[] = [];
		for (let p = first; p <= last; p++) inView.push(p);
		const kept: Record<number, Asset[]> = {};
		for (const p of inView) if (this.pages[p]) kept[p] = this.pages[p];
		this.pages = kept;
		await Promise.all(inView.map((p) => this.#fetch(p)));
	}

	/** Forget the failure and fetch the pages in `start`..`end` again. */
	retry(start: number, end: number): void {
		this.error = null;
		this.want(start, end);
	}

	#pump(): void {
		while (this.#inFlight.size < MAX_IN_FLIGHT && this.#queue.length > 0) {
			const page = this.#queue.shift() as number;
			if (page in this.pages || this.#inFlight.has(page)) continue;
			const request = this.#fetch(page);
			this.#inFlight.set(page, request);
			request
				.then(
					(items) => this.#settle(page, (w) => w.resolve(items)),
					(e) => this.#settle(page, (w) => w.reject(e))
				)
				.finally(() => {
					this.#inFlight.delete(page);
					this.#pump();
				});
		}
	}

	#settle(page: number, run: (w: { resolve: (a: Asset[]) => void; reject: (e: unknown) => void }) => void): void {
		const list = this.#waiters.get(page) ?? [];
		this.#waiters.delete(page);
		list.forEach(run);
	}

	async #fetch(page: number): Promise<Asset[]> {
		const f = this.filters;
		try {
			const data = await call(
				api.GET('/api/v1/assets', {
					params: {
						query: {
							page,
							pageSize: PAGE_SIZE,
							folder: f.folder ?? undefined,
							recursive: f.folder ? f.recursive : undefined,
							hasFaces: f.hasFaces ?? undefined,
							kind: f.kind ?? undefined
						}
					}
				})
			);
			this.total = data.total;
			this.pages = { ...this.pages, [page]: data.items };
			this.error = null;
			return data.items;
		} catch (e) {
			this.error = errorMessage(e);
			throw e;
		}
	}
}

// The listings of the last few filter sets, so that leaving an asset view (or coming back from
// another section soon after) shows the grid at once instead of loading it again.
const KEEP = 3;
const MAX_AGE_MS = 5 * 60 * 1000;
const recent: AssetListing[] = [];

/** The cached listing of these filters when recent enough, else a new one. */
export function listingFor(filters: ListingFilters): AssetListing {
	const key = filtersToQuery(filters);
	const index = recent.findIndex((l) => l.key === key);
	if (index >= 0) {
		const found = recent[index];
		recent.splice(index, 1);
		if (Date.now() - found.createdAt < MAX_AGE_MS && found.error === null) {
			recent.unshift(found);
			return found;
		}
	}
	const fresh = new AssetListing(filters);
	recent.unshift(fresh);
	recent.length = Math.min(recent.length, KEEP);
	return fresh;
}

/** The asset last shown on an asset's own page (and its listing), for the grid to scroll to. */
export const gridMemory: { key: string | null; index: number | null } = { key: null, index: null };
