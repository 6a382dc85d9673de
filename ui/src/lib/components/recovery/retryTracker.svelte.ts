// The index run a retry queued, followed through its server-sent events
// (GET /api/v1/jobs/{id}/events): phase and counts while it runs, a callback when it ends.
import { watchJob } from '$lib/api/jobs';
import type { Job, RecoveryAction } from '$lib/api/types';

export interface RetryRun {
	jobId: string;
	/** Assets put back to work by the retry that queued (or joined) this run. */
	assets: number;
	status: string;
	phase: string;
	current: number;
	total: number;
}

/** What a finished index run did, from its result (scan and face pipeline counts). */
export interface RetryOutcome {
	indexed: number;
	failedAgain: number;
}

const PHASES: Record<string, string> = {
	queued: 'Waiting to start',
	running: 'Starting',
	scanning: 'Scanning folders',
	hashing: 'Reading files',
	faces: 'Finding faces',
	assign: 'Matching faces to persons',
	clustering: 'Grouping faces',
	clip: 'Preparing text search'
};

export function phaseLabel(phase: string): string {
	return PHASES[phase] ?? phase.replaceAll('_', ' ');
}

function count(value: unknown): number {
	return typeof value === 'number' ? value : 0;
}

export function outcomeOf(job: Job): RetryOutcome {
	const result = (job.result ?? {}) as Record<string, Record<string, unknown> | undefined>;
	return {
		indexed: count(result.pipeline?.processed),
		failedAgain: count(result.pipeline?.failed) + count(result.scan?.unreadable)
	};
}

export class RetryTracker {
	run = $state<RetryRun | null>(null);
	#stop: (() => void) | null = null;

	/** Follow the job of a retry answer; `ondone(outcome | error message)` when it ends. */
	follow(action: RecoveryAction, ondone: (outcome: RetryOutcome | string) => void): void {
		const job = action.job;
		if (!job) return;
		const assets = this.run?.jobId === job.jobId ? this.run.assets + action.processed : action.processed;
		this.#stop?.();
		this.run = { jobId: job.jobId, assets, status: job.status, phase: job.status, current: 0, total: 0 };
		const stop = watchJob(job.eventsUrl, {
			onprogress: (progress) => {
				if (this.run?.jobId !== progress.id) return;
				this.run = {
					...this.run,
					status: progress.status,
					phase: progress.phase,
					current: progress.current,
					total: progress.total
				};
			},
			oncomplete: (finished) => {
				this.#finish(stop);
				ondone(outcomeOf(finished));
			},
			onfailed: (message) => {
				this.#finish(stop);
				ondone(message);
			}
		});
		this.#stop = stop;
	}

	#finish(stop: () => void): void {
		if (this.#stop === stop) {
			this.#stop = null;
			this.run = null;
		}
	}

	/** Stop listening (the run itself goes on in the server). */
	close(): void {
		this.#stop?.();
		this.#stop = null;
	}
}
