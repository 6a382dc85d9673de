// Follow a job through its server-sent events (GET eventsUrl): `progress` events carry the job,
// then one `complete` (the job with its result) or `failed` ends the stream.
import type { Job } from '$lib/api/types';

export interface JobWatch {
	onprogress?: (job: Job) => void;
	oncomplete: (job: Job) => void;
	onfailed: (message: string) => void;
}

/** Listen to a job's events; returns a function that stops listening. */
export function watchJob(eventsUrl: string, watch: JobWatch): () => void {
	const source = new EventSource(eventsUrl);
	let done = false;
	const finish = (): void => {
		done = true;
		source.close();
	};
	source.addEventListener('progress', (event) => {
		watch.onprogress?.(JSON.parse((event as MessageEvent<string>).data) as Job);
	});
	source.addEventListener('complete', (event) => {
		finish();
		watch.oncomplete(JSON.parse((event as MessageEvent<string>).data) as Job);
	});
	source.addEventListener('failed', (event) => {
		finish();
		const data = JSON.parse((event as MessageEvent<string>).data) as Partial<Job>;
		watch.onfailed(data.error ?? 'the job failed');
	});
	source.onerror = () => {
		// EventSource reconnects by itself after a dropped connection; a closed one is final.
		if (!done && source.readyState === EventSource.CLOSED) {
			done = true;
			watch.onfailed('lost the connection to the server');
		}
	};
	return () => {
		if (!done) finish();
	};
}
