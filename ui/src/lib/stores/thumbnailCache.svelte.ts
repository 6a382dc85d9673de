// Small thumbnails as data URIs, fetched in batches (POST /api/v1/images/thumbnails/batch, at
// most 200 ids per call) and kept for the whole visit.
import { api, call } from '$lib/api/client';

const BATCH_LIMIT = 200;

class ThumbnailCache {
	uris = $state<Record<number, string | null>>({});
	#pending = new Set<number>();

	get(assetId: number): string | null | undefined {
		return this.uris[assetId];
	}

	/** Fetch the thumbnails not yet cached; failures leave the ids uncached (img falls back). */
	async fetchBatch(assetIds: number[]): Promise<void> {
		const missing = [...new Set(assetIds)].filter(
			(id) => !(id in this.uris) && !this.#pending.has(id)
		);
		for (let start = 0; start < missing.length; start += BATCH_LIMIT) {
			const ids = missing.slice(start, start + BATCH_LIMIT);
			ids.forEach((id) => this.#pending.add(id));
			try {
				const response = await call(
					api.POST('/api/v1/images/thumbnails/batch', { body: { assetIds: ids } })
				);
				for (const [id, uri] of Object.entries(response.thumbnails)) this.uris[Number(id)] = uri;
			} catch {
				// Leave them uncached: components fall back to the thumbnail URL.
			} finally {
				ids.forEach((id) => this.#pending.delete(id));
			}
		}
	}
}

export const thumbnailCache = new ThumbnailCache();
