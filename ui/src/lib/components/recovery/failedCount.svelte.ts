// How many assets failed, for the nav badge: fetched (GET /api/v1/recovery?perCause=0) when the
// page changes and after every recovery action. Errors keep the last known value: the badge is
// a hint, the recovery page shows the real state.
import { fetchOverview } from '$lib/api/recovery';

class FailedCount {
	value = $state<number | null>(null);
	#pending: Promise<void> | null = null;

	refresh(): Promise<void> {
		this.#pending ??= fetchOverview(0)
			.then((overview) => {
				this.value = overview.failed;
			})
			.catch(() => {})
			.finally(() => {
				this.#pending = null;
			});
		return this.#pending;
	}

	/** Set from an overview the page already fetched (no extra request). */
	set(value: number): void {
		this.value = value;
	}
}

export const failedCount = new FailedCount();
