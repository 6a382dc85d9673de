// Reviewing on the suggestions page and its history: accept / reject (one suggestion or several
// in bulk), the undo stack (the toast's Undo, the u key) and the recently assigned faces
// (accepted suggestions and faces assigned to someone else), each undoable. One action runs at
// a time (`busy`); each ends by reloading the page's suggestions.
import { errorMessage } from '$lib/api/client';
import {
	acceptSuggestion,
	assignFaces,
	bulkSuggestionAction,
	rejectSuggestion,
	unassignFaces,
	undoSuggestion
} from '$lib/api/suggestions';
import type { FindMoreJob, Suggestion } from '$lib/api/types';
import { deletePersonIfEmpty } from '$lib/api/persons';
import { fileName } from '$lib/format';
import { showToast } from '$lib/stores/toasts.svelte';
import type { RecentAssignment } from './RecentlyAssignedPanel.svelte';

const RECENT_LIMIT = 10;
const UNDO_LIMIT = 20;

export type ReviewAction = 'accept' | 'reject';
/** Another person for a face: an existing one or a new one with that name. */
export type AssignChoice = { personId: number; name: string } | { newName: string };

interface UndoEntry {
	key: number;
	ids: number[];
	label: string;
}

/** What a review needs from the page. */
export interface ReviewHooks {
	/** Reload the page's suggestions (after every action, while still busy). */
	reload: () => Promise<void>;
	/** Drop reviewed suggestions from the selection. */
	unselect: (ids: number[]) => void;
	/** Follow a find-more job queued by a bulk accept. */
	follow: (job: FindMoreJob) => void;
}

/** "1 person", "3 persons". */
export function plural(count: number, word: string): string {
	return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function personLabel(suggestion: Suggestion): string {
	return suggestion.personName ?? `Person ${suggestion.suggestedPersonId}`;
}

function describe(done: Suggestion[], action: ReviewAction): string {
	const verb = action === 'accept' ? 'Accepted' : 'Rejected';
	const persons = [...new Set(done.map(personLabel))];
	if (done.length === 1) return `${verb} ${fileName(done[0].path)} as ${persons[0]}`;
	const who = persons.length === 1 ? ` for ${persons[0]}` : '';
	return `${verb} ${plural(done.length, 'suggestion')}${who}`;
}

export class ReviewHistory {
	/** An action is under way (buttons are disabled; a repeated key is dropped). */
	busy = $state(false);
	/** The last faces assigned on this page, newest first. */
	recent = $state<RecentAssignment[]>([]);
	#undoStack = $state<UndoEntry[]>([]);
	/** Keys of recent entries whose assignment created their person (undo deletes it if empty). */
	#createdPerson = new Set<string>();
	#nextKey = 1;
	#hooks: ReviewHooks;

	constructor(hooks: ReviewHooks) {
		this.#hooks = hooks;
	}

	#track(done: Suggestion[]): void {
		const now = new Date();
		const entries: RecentAssignment[] = done.map((s) => ({
			key: `s${s.id}-${this.#nextKey++}`,
			suggestionId: s.id,
			faceId: s.faceInstanceId,
			personId: s.suggestedPersonId,
			personName: personLabel(s),
			cropUrl: s.faceCropUrl,
			fileName: fileName(s.path),
			assignedAt: now
		}));
		this.recent = [...entries, ...this.recent].slice(0, RECENT_LIMIT);
	}

	/**
	 * Accept or reject pending suggestions: one call for one, bulk-action for several (with
	 * find-more after accepting when `autoFindMore`). Failures per item end in a toast; the
	 * page reloads. Returns whether anything was done.
	 */
	async review(list: Suggestion[], action: ReviewAction, autoFindMore = false): Promise<boolean> {
		const targets = list.filter((s) => s.status === 'pending');
		if (targets.length === 0 || this.busy) return false;
		this.busy = true;
		let okIds: number[] = [];
		try {
			if (targets.length === 1) {
				const reviewOne = action === 'accept' ? acceptSuggestion : rejectSuggestion;
				await reviewOne(targets[0].id);
				okIds = [targets[0].id];
			} else {
				const response = await bulkSuggestionAction(
					targets.map((s) => s.id),
					action,
					action === 'accept' && autoFindMore
				);
				okIds = response.results.filter((r) => r.ok).map((r) => r.id);
				const failures = response.results.filter((r) => !r.ok);
				if (failures.length > 0) {
					const first = failures[0];
					showToast(
						`${failures.length} of ${targets.length} could not be ${action}ed: ` +
							`${first.message ?? first.error ?? 'unknown error'}`,
						'error'
					);
				}
				for (const job of response.findMoreJobs) this.#hooks.follow(job);
			}
		} catch (error) {
			showToast(errorMessage(error), 'error');
		}
		const done = targets.filter((s) => okIds.includes(s.id));
		this.#hooks.unselect(targets.map((s) => s.id));
		if (done.length > 0) {
			if (action === 'accept') this.#track(done);
			const entry: UndoEntry = { key: this.#nextKey++, ids: okIds, label: describe(done, action) };
			this.#undoStack = [...this.#undoStack, entry].slice(-UNDO_LIMIT);
			showToast(entry.label, 'success', { label: 'Undo', run: () => this.#undoByKey(entry.key) });
		}
		await this.#hooks.reload();
		this.busy = false;
		return done.length > 0;
	}

	/** Wait for the action under way (an undo is never dropped, unlike a repeated key). */
	async #idle(): Promise<void> {
		while (this.busy) await new Promise((done) => setTimeout(done, 50));
	}

	/** Take back an accept or reject: the suggestions are pending again. */
	async #undo(entry: UndoEntry): Promise<void> {
		await this.#idle();
		this.busy = true;
		try {
			if (entry.ids.length === 1) {
				await undoSuggestion(entry.ids[0]);
			} else {
				const response = await bulkSuggestionAction(entry.ids, 'undo');
				const failures = response.results.filter((r) => !r.ok);
				if (failures.length > 0) {
					showToast(
						`${failures.length} could not be undone: ${failures[0].message ?? failures[0].error}`,
						'error'
					);
				}
			}
			showToast(`Undone: ${entry.label}`, 'info');
		} catch (error) {
			showToast(errorMessage(error), 'error');
		}
		this.#undoStack = this.#undoStack.filter((e) => e.key !== entry.key);
		this.recent = this.recent.filter(
			(r) => r.suggestionId === null || !entry.ids.includes(r.suggestionId)
		);
		await this.#hooks.reload();
		this.busy = false;
	}

	/** Undo an entry of the undo stack, unless it was undone already (toast, u, panel). */
	#undoByKey(key: number): void {
		const entry = this.#undoStack.find((e) => e.key === key);
		if (entry) this.#undo({ ...entry, ids: [...entry.ids] });
		else showToast('Already undone', 'info');
	}

	/** Undo the latest accept or reject still on the stack (the u key). */
	undoLast(): void {
		const last = this.#undoStack.at(-1);
		if (last) this.#undoByKey(last.key);
		else showToast('Nothing to undo', 'info');
	}

	/** Reopen one reviewed suggestion (the detail view's Undo button). */
	async undoReview(suggestion: Suggestion): Promise<void> {
		await this.#undo({
			key: this.#nextKey++,
			ids: [suggestion.id],
			label: `${fileName(suggestion.path)}`
		});
	}

	/** Undo one recently assigned face: reopen its suggestion, or unassign a direct assignment. */
	async undoRecent(entry: RecentAssignment): Promise<void> {
		await this.#idle();
		if (!this.recent.some((r) => r.key === entry.key)) {
			showToast('Already undone', 'info');
			return;
		}
		this.busy = true;
		try {
			if (entry.suggestionId !== null) await undoSuggestion(entry.suggestionId);
			else await unassignFaces([entry.faceId]);
			this.recent = this.recent.filter((r) => r.key !== entry.key);
			let removed = false;
			if (this.#createdPerson.delete(entry.key)) {
				removed = await deletePersonIfEmpty(entry.personId);
			}
			const gone = removed ? `; ${entry.personName} removed` : '';
			showToast(`Undone: ${entry.fileName} is no longer ${entry.personName}${gone}`, 'info');
			const id = entry.suggestionId;
			if (id !== null) {
				this.#undoStack = this.#undoStack
					.map((e) => ({ ...e, ids: e.ids.filter((x) => x !== id) }))
					.filter((e) => e.ids.length > 0);
			}
		} catch (error) {
			showToast(errorMessage(error), 'error');
		}
		await this.#hooks.reload();
		this.busy = false;
	}

	/** Assign the face of `suggestion` to another person (or a new one), with Undo. */
	async assignElsewhere(suggestion: Suggestion, choice: AssignChoice): Promise<void> {
		if (this.busy) return;
		this.busy = true;
		try {
			const target = await assignFaces(
				[suggestion.faceInstanceId],
				'personId' in choice ? { personId: choice.personId } : { newName: choice.newName }
			);
			const name = 'name' in choice ? choice.name : choice.newName;
			const entry: RecentAssignment = {
				key: `f${suggestion.faceInstanceId}-${this.#nextKey++}`,
				suggestionId: null,
				faceId: suggestion.faceInstanceId,
				personId: target ?? 0,
				personName: name,
				cropUrl: suggestion.faceCropUrl,
				fileName: fileName(suggestion.path),
				assignedAt: new Date()
			};
			if ('newName' in choice && target !== null) this.#createdPerson.add(entry.key);
			this.recent = [entry, ...this.recent].slice(0, RECENT_LIMIT);
			showToast(`Assigned ${entry.fileName} to ${name}`, 'success', {
				label: 'Undo',
				run: () => this.undoRecent(entry)
			});
		} catch (error) {
			showToast(errorMessage(error), 'error');
		}
		await this.#hooks.reload();
		this.busy = false;
	}
}
