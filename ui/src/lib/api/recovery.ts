// The recovery center's calls (GET/POST /api/v1/recovery...): failed assets grouped by cause,
// one cause's assets page by page, retry / ignore / un-ignore.
import { api, call } from './client';
import type { RecoveryAction, RecoveryAsset, RecoveryOverview } from './types';

/** Which assets an action applies to: ids (one result each), a cause id, or all. */
export type RecoverySelection = { assetIds: number[] } | { cause: string } | { all: true };

export type RecoveryStatus = 'failed' | 'ignored';

export interface AssetPage {
	items: RecoveryAsset[];
	total: number;
}

/** Failed assets by cause with the first `perCause` assets of each; the ignored counts. */
export function fetchOverview(perCause: number): Promise<RecoveryOverview> {
	return call(api.GET('/api/v1/recovery', { params: { query: { perCause } } }));
}

/** One page of the failed (or ignored) assets of `cause` (every cause when null). */
export function fetchAssets(
	status: RecoveryStatus,
	cause: string | null,
	page: number,
	pageSize: number
): Promise<AssetPage> {
	return call(
		api.GET('/api/v1/recovery/assets', {
			params: { query: { status, cause: cause ?? undefined, page, pageSize } }
		})
	);
}

/** The request body: exactly one of assetIds, cause, all. */
function body(selection: RecoverySelection) {
	return {
		assetIds: 'assetIds' in selection ? selection.assetIds : null,
		cause: 'cause' in selection ? selection.cause : null,
		all: 'all' in selection
	};
}

export function retryAssets(selection: RecoverySelection): Promise<RecoveryAction> {
	return call(api.POST('/api/v1/recovery/retry', { body: body(selection) }));
}

export function ignoreAssets(selection: RecoverySelection): Promise<RecoveryAction> {
	return call(api.POST('/api/v1/recovery/ignore', { body: body(selection) }));
}

export function unignoreAssets(selection: RecoverySelection): Promise<RecoveryAction> {
	return call(api.POST('/api/v1/recovery/unignore', { body: body(selection) }));
}

/** The first refusal among a bulk answer's results, as a sentence (null when all went). */
export function firstRefusal(action: RecoveryAction): string | null {
	const refused = action.results.find((r) => !r.ok);
	if (!refused) return null;
	return refused.message ?? refused.error ?? `asset ${refused.id} was refused`;
}
