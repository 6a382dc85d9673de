// The face-suggestion calls of the review page (GET/POST /api/v1/faces/suggestions...), the
// find-more job watcher (server-sent events) and small helpers over suggestion shapes.
import { api, call } from './client';
import type {
	BulkActionResponse,
	FindMoreJob,
	GroupedSuggestions,
	Job,
	Suggestion,
	SuggestionSettings
} from './types';

export type StatusFilter = 'pending' | 'accepted' | 'rejected' | 'expired' | 'all';
export const STATUS_FILTERS: StatusFilter[] = ['pending', 'accepted', 'rejected', 'expired', 'all'];

export function isStatusFilter(value: string | null): value is StatusFilter {
	return value !== null && (STATUS_FILTERS as string[]).includes(value);
}

export function fetchSuggestionSettings(): Promise<SuggestionSettings> {
	return call(api.GET('/api/v1/faces/suggestions/settings'));
}

export interface GroupedQuery {
	page: number;
	groupsPerPage: number;
	suggestionsPerGroup?: number;
	status: StatusFilter;
	personId: number | null;
}

/** One page of suggestions grouped by person (groups ordered by their best confidence). */
export async function fetchGroupedSuggestions(query: GroupedQuery): Promise<GroupedSuggestions> {
	const data = await call(
		api.GET('/api/v1/faces/suggestions', {
			params: {
				query: {
					grouped: true,
					page: query.page,
					groupsPerPage: query.groupsPerPage,
					suggestionsPerGroup: query.suggestionsPerGroup,
					status: query.status,
					personId: query.personId ?? undefined
				}
			}
		})
	);
	if (!('groups' in data)) throw new Error('The server answered with a flat list');
	return data;
}

export function acceptSuggestion(id: number): Promise<Suggestion> {
	return call(
		api.POST('/api/v1/faces/suggestions/{suggestion_id}/accept', {
			params: { path: { suggestion_id: id } }
		})
	);
}

export function rejectSuggestion(id: number): Promise<Suggestion> {
	return call(
		api.POST('/api/v1/faces/suggestions/{suggestion_id}/reject', {
			params: { path: { suggestion_id: id } }
		})
	);
}

/** Take back an accept (the face is unassigned again) or a reject: pending again. */
export function undoSuggestion(id: number): Promise<Suggestion> {
	return call(
		api.POST('/api/v1/faces/suggestions/{suggestion_id}/undo', {
			params: { path: { suggestion_id: id } }
		})
	);
}

export type BulkAction = 'accept' | 'reject' | 'undo';

/** One result per id; with `autoFindMore` after accepting, a find-more job per person. */
export function bulkSuggestionAction(
	ids: number[],
	action: BulkAction,
	autoFindMore = false
): Promise<BulkActionResponse> {
	return call(
		api.POST('/api/v1/faces/suggestions/bulk-action', {
			body: {
				suggestionIds: ids,
				action,
				autoFindMore,
				findMorePrototypeCount: 50
			}
		})
	);
}

/** Queue find-more by centroid for a person (202 with the job reference). */
export function findMoreByCentroid(personId: number): Promise<FindMoreJob> {
	return call(
		api.POST('/api/v1/faces/suggestions/persons/{person_id}/find-more-centroid', {
			params: { path: { person_id: personId } },
			body: { maxResults: 200, unassignedOnly: true }
		})
	);
}

/** Assign faces to a person or to a new person; returns the person id. */
export async function assignFaces(
	faceIds: number[],
	choice: { personId: number } | { newName: string }
): Promise<number | null> {
	const body =
		'personId' in choice
			? { faceIds, personId: choice.personId }
			: { faceIds, newPersonName: choice.newName };
	const response = await call(api.POST('/api/v1/faces/assign', { body }));
	const failed = response.results.find((r) => !r.ok);
	if (failed) throw new Error(failed.message ?? failed.error ?? `face ${failed.id} failed`);
	return response.personId;
}

export async function unassignFaces(faceIds: number[]): Promise<void> {
	const response = await call(
		api.POST('/api/v1/faces/unassign', {
			body: { faceIds, notThisPerson: false, regroup: false }
		})
	);
	const failed = response.results.find((r) => !r.ok);
	if (failed) throw new Error(failed.message ?? failed.error ?? `face ${failed.id} failed`);
}


/** Suggestions created by a finished find-more job (its `result.suggestionsCreated`). */
export function createdCount(job: Job): number {
	const value = job.result?.suggestionsCreated;
	return typeof value === 'number' ? value : 0;
}

/** Multi-prototype matches first, then by aggregate confidence (else confidence). */
export function sortSuggestions(list: Suggestion[]): Suggestion[] {
	return [...list].sort((a, b) => {
		const multi = Number(b.isMultiPrototypeMatch) - Number(a.isMultiPrototypeMatch);
		if (multi !== 0) return multi;
		return (b.aggregateConfidence ?? b.confidence) - (a.aggregateConfidence ?? a.confidence);
	});
}

export type ConfidenceTone = 'high' | 'medium' | 'low';

/** `high` at or above the auto-assign threshold, `medium` at or above the suggestion one. */
export function confidenceTone(
	value: number,
	settings: Pick<SuggestionSettings, 'autoAssignThreshold' | 'suggestionThreshold'> | null
): ConfidenceTone {
	const auto = settings?.autoAssignThreshold ?? null;
	const suggest = settings?.suggestionThreshold ?? null;
	if (auto !== null && value >= auto) return 'high';
	if (suggest === null || value >= suggest) return 'medium';
	return 'low';
}

export function formatConfidence(value: number): string {
	return value.toFixed(2);
}
