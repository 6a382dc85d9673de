// Background jobs (find-more, assignment) followed through their server-sent events.
import type { Job } from '$lib/api/types';

export interface JobHandlers {
	onprogress?: (job: Job) => void;
	oncomplete: (job: Job) => void;
	onfailed: (message: string) => void;
}

/**
 * Follow a job through its server-sent events (`progress`..., then `complete` or `failed`).
 * EventSource reconnects by itself after a dropped stream; the server then replays the job's
 * current state. Returns a function that stops listening.
 */
export function watchJob(eventsUrl: string, handlers: JobHandlers): () => void {
	const source = new EventSource(eventsUrl);
	let done = false;
	const finish = () => {
		done = true;
		source.close();
	};
	const parse = (event: MessageEvent): Job | null => {
		try {
			return JSON.parse(event.data as string) as Job;
		} catch {
			return null;
		}
	};
	source.addEventListener('progress', (event) => {
		const job = parse(event as MessageEvent);
		if (job) handlers.onprogress?.(job);
	});
	source.addEventListener('complete', (event) => {
		const job = parse(event as MessageEvent);
		finish();
		if (job) handlers.oncomplete(job);
		else handlers.onfailed('The job finished with an unreadable result');
	});
	source.addEventListener('failed', (event) => {
		const job = parse(event as MessageEvent);
		finish();
		handlers.onfailed(job?.error ?? 'The job failed');
	});
	source.onerror = () => {
		// CONNECTING: the browser retries by itself. CLOSED: refused (e.g. 404), give up.
		if (!done && source.readyState === EventSource.CLOSED) {
			finish();
			handlers.onfailed('Lost the connection to the job');
		}
	};
	return finish;
}
