// The suggestions page's state in its URL: ?status= (pending when absent), ?person= (a person
// id) and ?page= (from 1). Defaults are left out of the URL.
import { isStatusFilter, type StatusFilter } from '$lib/api/suggestions';

/** What to change in the URL: a field left undefined stays; `person: null` drops the filter. */
export interface SuggestionsUrlChanges {
	status?: StatusFilter;
	person?: number | null;
	page?: number;
}

/** The status filter; 'pending' when absent or unknown. */
export function statusParam(params: URLSearchParams): StatusFilter {
	const value = params.get('status');
	return isStatusFilter(value) ? value : 'pending';
}

/** The person filter (a positive id), or null. */
export function personParam(params: URLSearchParams): number | null {
	const value = Number(params.get('person'));
	return Number.isInteger(value) && value > 0 ? value : null;
}

/** The page number, 1 when absent or invalid. */
export function pageParam(params: URLSearchParams): number {
	const value = Number(params.get('page'));
	return Number.isInteger(value) && value >= 1 ? value : 1;
}

/** The /suggestions address with `changes` applied to the current `params` (other keys kept). */
export function suggestionsHref(params: URLSearchParams, changes: SuggestionsUrlChanges): string {
	const next = new URLSearchParams(params);
	const set = (key: string, value: string | null) =>
		value === null ? next.delete(key) : next.set(key, value);
	if (changes.status !== undefined)
		set('status', changes.status === 'pending' ? null : changes.status);
	if (changes.person !== undefined)
		set('person', changes.person === null ? null : String(changes.person));
	if (changes.page !== undefined) set('page', changes.page <= 1 ? null : String(changes.page));
	const search = next.toString();
	return `/suggestions${search ? `?${search}` : ''}`;
}
