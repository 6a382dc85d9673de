// The state badge of an asset that is not simply indexed: still in the pipeline (its stage, as
// on the status page), failed, missing or ignored.
import type { Asset } from '$lib/api/types';

export interface AssetState {
	/** Short text on the thumbnail. */
	label: string;
	tone: 'pending' | 'failed' | 'missing';
	/** For screen readers (the cell's label). */
	description: string;
}

/** The badge of `asset`, or null for an indexed one. */
export function assetState(asset: Pick<Asset, 'status' | 'stage'>): AssetState | null {
	switch (asset.status) {
		case 'pending':
			return {
				label: `◷ ${asset.stage}`,
				tone: 'pending',
				description: `being indexed, stage ${asset.stage}`
			};
		case 'failed':
			return { label: 'failed', tone: 'failed', description: 'indexing failed' };
		case 'missing':
			return { label: 'missing', tone: 'missing', description: 'file missing' };
		case 'ignored':
			return { label: 'ignored', tone: 'failed', description: 'failed, ignored' };
		default:
			return null;
	}
}
