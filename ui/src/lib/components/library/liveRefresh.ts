// Keeps the library grid and the folder tree current while files come and go (the library
// watcher, an index run, a retry): when the library status's counts (assets by status and by
// stage, faces) differ from those the listing was loaded with, the pages in view and the folder
// levels shown are fetched again: at most every REFRESH_MS, never while `paused()` (an asset is
// open: its prev/next walk the listing by index; closing it runs the refresh held back).
import type { LibraryStatus } from '$lib/api/types';
import { folders } from './folders.svelte';
import type { AssetListing } from './listing.svelte';

export const REFRESH_MS = 2000;

/** The part of the status the grid shows: it changes with new assets, stages and gone files. */
export function changeKey(status: LibraryStatus): string {
	return JSON.stringify([status.assetsByStatus, status.assetsByStage, status.faces]);
}

export class LiveRefresh {
	#listing: AssetListing | null = null;
	#key: string | null = null;
	#timer: ReturnType<typeof setTimeout> | undefined;
	#last = 0;
	readonly #paused: () => boolean;

	constructor(paused: () => boolean) {
		this.#paused = paused;
	}

	/** The status (`key`, see `changeKey`) while `listing` is shown. */
	seen(listing: AssetListing, key: string): void {
		this.#listing = listing;
		this.#key = key;
		// A listing remembers the status it was loaded with, so one kept from an earlier visit
		// is refreshed too when the library changed since.
		listing.statusKey ??= key;
		this.resume();
	}

	/** Run the refresh held back by a pause (or by the rate limit), if any is due. */
	resume(): void {
		if (this.#timer !== undefined || !this.#due() || this.#paused()) return;
		const wait = Math.max(0, this.#last + REFRESH_MS - Date.now());
		this.#timer = setTimeout(() => {
			this.#timer = undefined;
			const listing = this.#listing;
			if (!listing || !this.#due() || this.#paused()) return;
			this.#last = Date.now();
			listing.statusKey = this.#key;
			listing.refresh().catch(() => {}); // the grid shows the listing's error
			folders.refresh();
		}, wait);
	}

	stop(): void {
		clearTimeout(this.#timer);
		this.#timer = undefined;
	}

	#due(): boolean {
		return this.#listing !== null && this.#key !== this.#listing.statusKey;
	}
}
