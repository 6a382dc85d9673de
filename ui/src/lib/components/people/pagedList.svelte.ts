// A long list fetched page by page, only where it is looked at: a VirtualGrid reports the
// visible index range and `ensureRange` fetches the pages that cover it (each page once).
// `reset` starts over (new filter): answers of the previous generation are dropped.
import { errorMessage } from '$lib/api/client';

export interface PageAnswer<T> {
	items: T[];
	total: number;
}

export type PageFetcher<T> = (page: number, pageSize: number) => Promise<PageAnswer<T>>;

export class PagedList<T> {
	/** Items in the list; null until the first page answered. */
	total = $state<number | null>(null);
	/** Error of the last failed fetch (cleared by the next successful one). */
	error = $state<string | null>(null);
	/** The first page is on its way (nothing to show yet). */
	loading = $state(false);
	#pages = $state.raw<Record<number, T[]>>({});
	#requests = new Map<number, Promise<void>>();
	#generation = 0;
	#lastRange: [number, number] = [0, 0];
	#fetch: PageFetcher<T>;
	readonly pageSize: number;

	constructor(fetch: PageFetcher<T>, pageSize = 200) {
		this.#fetch = fetch;
		this.pageSize = pageSize;
	}

	/** The item at `index`, or undefined while its page is not loaded. */
	get(index: number): T | undefined {
		return this.#pages[Math.floor(index / this.pageSize) + 1]?.[index % this.pageSize];
	}

	/** Every loaded item, in order (holes left out). */
	loaded(): T[] {
		return Object.keys(this.#pages)
			.map(Number)
			.sort((a, b) => a - b)
			.flatMap((p) => this.#pages[p]);
	}

	/** Forget everything and fetch the first page. */
	reset(): Promise<void> {
		this.#generation += 1;
		this.#requests.clear();
		this.#pages = {};
		this.total = null;
		this.error = null;
		this.loading = true;
		return this.#load(1);
	}

	/** Fetch the pages that cover items [start, end) and are not loaded yet. */
	ensureRange(start: number, end: number): Promise<void> {
		this.#lastRange = [start, end];
		if (this.total === null || end <= start) return Promise.resolve();
		const last = Math.min(end, this.total) - 1;
		const loads: Promise<void>[] = [];
		for (let p = Math.floor(start / this.pageSize) + 1; p <= Math.floor(last / this.pageSize) + 1; p++) {
			loads.push(this.#load(p));
		}
		return Promise.all(loads).then(() => undefined);
	}

	/** Fetch every page (e.g. before "select all"). */
	ensureAll(): Promise<void> {
		return this.ensureRange(0, this.total ?? 0);
	}

	/** Fetch again what failed: the first page, or the pages of the last range asked for. */
	retry(): Promise<void> {
		this.error = null;
		if (this.total === null) return this.reset();
		return this.ensureRange(...this.#lastRange);
	}

	#load(page: number): Promise<void> {
		if (this.#pages[page]) return Promise.resolve();
		const pending = this.#requests.get(page);
		if (pending) return pending;
		const generation = this.#generation;
		const request = this.#fetch(page, this.pageSize)
			.then((answer) => {
				if (generation !== this.#generation) return;
				this.total = answer.total;
				this.#pages = { ...this.#pages, [page]: answer.items };
				this.error = null;
			})
			.catch((error: unknown) => {
				if (generation !== this.#generation) return;
				this.#requests.delete(page);
				this.error = errorMessage(error);
			})
			.finally(() => {
				if (generation === this.#generation && page === 1) this.loading = false;
			});
		this.#requests.set(page, request);
		return request;
	}
}
