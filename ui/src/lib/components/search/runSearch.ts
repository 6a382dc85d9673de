// One search against GET /api/v1/search, with what the page shows for each outcome. When
// text or similar-image search is unavailable (503: CLIP switched off or its model files
// missing), the other criteria still run on their own, so the filters stay usable.
import { api, ApiError, call, errorMessage } from '$lib/api/client';
import type { SearchResponse } from '$lib/api/types';
import { apiParams, filterCount, hasCriteria, isRanked, type SearchQuery } from './searchQuery';

export type SearchOutcome =
	/** Nothing asked yet: the page shows how to search. */
	| { kind: 'idle' }
	/**
	 * Results (null when only the unavailable text was asked). `unavailable`: why the text /
	 * similar-image part could not run (the results then ignore it).
	 */
	| { kind: 'results'; result: SearchResponse | null; unavailable: string | null }
	/** The search was refused (422 bad input, 404 unknown person / asset) or failed. */
	| { kind: 'error'; message: string; status: number };

async function fetchSearch(query: SearchQuery, withoutText: boolean): Promise<SearchResponse> {
	return call(api.GET('/api/v1/search', { params: { query: apiParams(query, withoutText) } }));
}

/** Run `query`; never throws. */
export async function runSearch(query: SearchQuery): Promise<SearchOutcome> {
	if (!hasCriteria(query)) return { kind: 'idle' };
	try {
		return { kind: 'results', result: await fetchSearch(query, false), unavailable: null };
	} catch (e) {
		if (!(e instanceof ApiError && e.status === 503 && isRanked(query))) {
			return { kind: 'error', message: errorMessage(e), status: e instanceof ApiError ? e.status : 0 };
		}
		const unavailable = e.message;
		if (query.personIds.length === 0 && filterCount(query) === 0) {
			return { kind: 'results', result: null, unavailable };
		}
		try {
			return { kind: 'results', result: await fetchSearch(query, true), unavailable };
		} catch (again) {
			const status = again instanceof ApiError ? again.status : 0;
			return { kind: 'error', message: errorMessage(again), status };
		}
	}
}
