// Find-more jobs started from the suggestions page: the phase per person while a job runs
// (followed by server-sent events) and a toast when it ends.
import { errorMessage } from '$lib/api/client';
import { watchJob } from '$lib/api/jobs';
import { createdCount, findMoreByCentroid } from '$lib/api/suggestions';
import type { FindMoreJob } from '$lib/api/types';
import { showToast } from '$lib/stores/toasts.svelte';

export class FindMoreTracker {
	/** Person id → phase of its running job (queued, searching, ...). */
	phases = $state<Record<number, string>>({});
	#stops = new Set<() => void>();
	#onshow: () => void;

	/** `onshow` runs from the toast's Show action (reload the suggestions). */
	constructor(onshow: () => void) {
		this.#onshow = onshow;
	}

	/** Queue find-more by centroid for a person and follow it. */
	async start(personId: number, name: string): Promise<void> {
		this.phases[personId] = 'queued';
		try {
			this.follow(await findMoreByCentroid(personId), name);
		} catch (error) {
			delete this.phases[personId];
			showToast(errorMessage(error), 'error');
		}
	}

	/** Follow a queued job: "Found N new suggestions for X" (with Show) or the failure. */
	follow(job: FindMoreJob, name: string): void {
		const id = job.personId;
		if (id === null) return;
		this.phases[id] = job.status;
		const stop = watchJob(job.eventsUrl, {
			onprogress: (progress) => {
				this.phases[id] = progress.phase;
			},
			oncomplete: (finished) => {
				this.#stops.delete(stop);
				delete this.phases[id];
				const count = createdCount(finished);
				if (count > 0) {
					const noun = count === 1 ? 'suggestion' : 'suggestions';
					showToast(`Found ${count} new ${noun} for ${name}`, 'success', {
						label: 'Show',
						run: this.#onshow
					});
				} else {
					showToast(`No new suggestions for ${name}`, 'info');
				}
			},
			onfailed: (message) => {
				this.#stops.delete(stop);
				delete this.phases[id];
				showToast(`Finding more faces of ${name} failed: ${message}`, 'error');
			}
		});
		this.#stops.add(stop);
	}

	/** Stop listening to every job (the jobs themselves go on). */
	close(): void {
		for (const stop of this.#stops) stop();
		this.#stops.clear();
	}
}
