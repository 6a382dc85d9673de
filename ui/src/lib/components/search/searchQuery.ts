// The search page's whole state, kept in the URL (/search?q=..&personId=1&personId=2&..) so
// that back/forward, reload and shared links give the same search. The URL's parameters are
// those of GET /api/v1/search, so the query string is passed on as it is.
import type { operations } from '$lib/api/schema';

export type SearchParams = NonNullable<
	operations['search_api_v1_search_get']['parameters']['query']
>;

export type PersonMode = 'all' | 'any';
export type Kind = 'image' | 'video';

/** Page size when the URL names none. */
export const DEFAULT_PAGE_SIZE = 100;
export const PAGE_SIZES = [50, 100, 200, 500] as const;

export interface SearchQuery {
	/** Free text (CLIP), trimmed; '' for none. */
	text: string;
	/** Asset id for "more like this", or null. */
	similarTo: number | null;
	personIds: number[];
	personMode: PersonMode;
	/** YYYY-MM-DD (or an ISO date-time from a link), '' for none. */
	from: string;
	to: string;
	cameraMake: string;
	cameraModel: string;
	/** Absolute folder, '' for any. */
	folder: string;
	/** With a folder: include its subfolders (the API's default). */
	recursive: boolean;
	kind: Kind | null;
	hasUnnamedFaces: boolean;
	/** Place radius, as typed ('' for none): degrees and kilometres. */
	latitude: string;
	longitude: string;
	radiusKm: string;
	page: number;
	pageSize: number;
}

export function emptyQuery(): SearchQuery {
	return {
		text: '',
		similarTo: null,
		personIds: [],
		personMode: 'all',
		from: '',
		to: '',
		cameraMake: '',
		cameraModel: '',
		folder: '',
		recursive: true,
		kind: null,
		hasUnnamedFaces: false,
		latitude: '',
		longitude: '',
		radiusKm: '',
		page: 1,
		pageSize: DEFAULT_PAGE_SIZE
	};
}

function positiveInt(raw: string | null): number | null {
	if (raw === null || !/^\d+$/.test(raw)) return null;
	const n = Number(raw);
	return n > 0 ? n : null;
}

/** A number as typed, or '' when `raw` is missing or not a finite number. */
function numeric(raw: string | null): string {
	const text = raw?.trim() ?? '';
	return text && Number.isFinite(Number(text)) ? text : '';
}

/** The search a URL holds (unknown or malformed parameters are dropped). */
export function queryFromUrl(url: URL): SearchQuery {
	const p = url.searchParams;
	const kind = p.get('kind');
	const ids = p
		.getAll('personId')
		.map(positiveInt)
		.filter((id): id is number => id !== null);
	return {
		text: (p.get('q') ?? '').trim(),
		similarTo: positiveInt(p.get('similarTo')),
		personIds: [...new Set(ids)],
		personMode: p.get('personMode') === 'any' ? 'any' : 'all',
		from: p.get('from') ?? '',
		to: p.get('to') ?? '',
		cameraMake: p.get('cameraMake') ?? '',
		cameraModel: p.get('cameraModel') ?? '',
		folder: p.get('folder') ?? '',
		recursive: p.get('recursive') !== 'false',
		kind: kind === 'image' || kind === 'video' ? kind : null,
		hasUnnamedFaces: p.get('hasUnnamedFaces') === 'true',
		latitude: numeric(p.get('latitude')),
		longitude: numeric(p.get('longitude')),
		radiusKm: numeric(p.get('radiusKm')),
		page: positiveInt(p.get('page')) ?? 1,
		pageSize: Math.min(500, positiveInt(p.get('pageSize')) ?? DEFAULT_PAGE_SIZE)
	};
}

/** The query string (without "?") that `queryFromUrl` reads back; defaults are left out. */
export function queryToString(query: SearchQuery): string {
	const p = new URLSearchParams();
	if (query.text.trim()) p.set('q', query.text.trim());
	if (query.similarTo !== null) p.set('similarTo', String(query.similarTo));
	for (const id of query.personIds) p.append('personId', String(id));
	if (query.personIds.length >= 2 && query.personMode === 'any') p.set('personMode', 'any');
	if (query.from) p.set('from', query.from);
	if (query.to) p.set('to', query.to);
	if (query.cameraMake) p.set('cameraMake', query.cameraMake);
	if (query.cameraModel) p.set('cameraModel', query.cameraModel);
	if (query.folder.trim()) {
		p.set('folder', query.folder.trim());
		if (!query.recursive) p.set('recursive', 'false');
	}
	if (query.kind) p.set('kind', query.kind);
	if (query.hasUnnamedFaces) p.set('hasUnnamedFaces', 'true');
	for (const key of ['latitude', 'longitude', 'radiusKm'] as const) {
		const value = query[key].trim();
		if (value) p.set(key, value);
	}
	if (query.page > 1) p.set('page', String(query.page));
	if (query.pageSize !== DEFAULT_PAGE_SIZE) p.set('pageSize', String(query.pageSize));
	return p.toString();
}

/** `/search` with the query. */
export function searchHref(query: SearchQuery): string {
	const q = queryToString(query);
	return q ? `/search?${q}` : '/search';
}

/** A place coordinate as the API takes it: a number, or undefined when blank or not a number. */
function coordinate(raw: string): number | undefined {
	const text = raw.trim();
	const value = Number(text);
	return text && Number.isFinite(value) ? value : undefined;
}

/** The parameters of GET /api/v1/search for `query` (text dropped when `withoutText`). */
export function apiParams(query: SearchQuery, withoutText = false): SearchParams {
	const params: SearchParams = {
		personId: query.personIds,
		personMode: query.personMode,
		page: query.page,
		pageSize: query.pageSize
	};
	if (!withoutText && query.text) params.q = query.text;
	if (!withoutText && query.similarTo !== null) params.similarTo = query.similarTo;
	if (query.from) params.from = query.from;
	if (query.to) params.to = query.to;
	if (query.cameraMake) params.cameraMake = query.cameraMake;
	if (query.cameraModel) params.cameraModel = query.cameraModel;
	if (query.folder.trim()) {
		params.folder = query.folder.trim();
		params.recursive = query.recursive;
	}
	if (query.kind) params.kind = query.kind;
	if (query.hasUnnamedFaces) params.hasUnnamedFaces = true;
	params.latitude = coordinate(query.latitude);
	params.longitude = coordinate(query.longitude);
	params.radiusKm = coordinate(query.radiusKm);
	return params;
}

/** True when the query ranks by similarity (free text or "more like this"). */
export function isRanked(query: SearchQuery): boolean {
	return query.text !== '' || query.similarTo !== null;
}

/** Number of filters set besides the text, the people and paging. */
export function filterCount(query: SearchQuery): number {
	let n = 0;
	if (query.from || query.to) n++;
	if (query.cameraMake || query.cameraModel) n++;
	if (query.folder.trim()) n++;
	if (query.kind) n++;
	if (query.hasUnnamedFaces) n++;
	if (query.latitude.trim() || query.longitude.trim() || query.radiusKm.trim()) n++;
	return n;
}

/** True when the query asks for anything at all (else the page shows its introduction). */
export function hasCriteria(query: SearchQuery): boolean {
	return isRanked(query) || query.personIds.length > 0 || filterCount(query) > 0;
}
