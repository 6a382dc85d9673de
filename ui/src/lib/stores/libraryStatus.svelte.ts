// The library's indexing status, live: server-sent events from GET /api/v1/status/events (one
// `status` event at once and on every change), falling back to polling GET /api/v1/status every
// 3 s when the stream cannot be opened.
import { api, call, errorMessage } from '$lib/api/client';
import type { LibraryStatus } from '$lib/api/types';

const POLL_MS = 3000;

export class LiveStatus {
	status = $state<LibraryStatus | null>(null);
	error = $state<string | null>(null);
	live = $state(false);
	#source: EventSource | null = null;
	#timer: ReturnType<typeof setInterval> | null = null;

	start(): void {
		this.stop();
		const source = new EventSource('/api/v1/status/events');
		this.#source = source;
		source.addEventListener('status', (event) => {
			this.status = JSON.parse((event as MessageEvent<string>).data) as LibraryStatus;
			this.error = null;
			this.live = true;
		});
		source.onerror = () => {
			// The browser retries by itself; meanwhile keep the numbers fresh by polling.
			this.live = false;
			if (!this.#timer) this.#poll();
		};
		void this.refresh();
	}

	async refresh(): Promise<void> {
		try {
			this.status = await call(api.GET('/api/v1/status'));
			this.error = null;
		} catch (error) {
			this.error = errorMessage(error);
		}
	}

	#poll(): void {
		this.#timer = setInterval(() => {
			if (this.live) {
				clearInterval(this.#timer!);
				this.#timer = null;
			} else void this.refresh();
		}, POLL_MS);
	}

	stop(): void {
		this.#source?.close();
		this.#source = null;
		if (this.#timer) clearInterval(this.#timer);
		this.#timer = null;
	}
}
