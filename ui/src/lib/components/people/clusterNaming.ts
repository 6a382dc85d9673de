// Naming a cluster and taking it back. The name answer lists the faces that went to the person
// (assignedFaceIds) and says whether the person was created: Undo takes exactly those faces back
// and deletes the person again when it was created by the naming and has no face left.
import { api, call } from '$lib/api/client';
import { deletePersonIfEmpty } from '$lib/api/persons';
import type { components } from '$lib/api/schema';

export type NameClusterResponse = components['schemas']['NameClusterResponse'];
export type NameChoice = { personId: number; name: string } | { newName: string };

/** Give the cluster's faces (minus `excludeFaceIds`) to a person: an existing one or a new one.
 *  Throws ApiError (404 cluster or person gone, 422 ambiguous name). */
export function nameCluster(
	clusterId: number,
	choice: NameChoice,
	excludeFaceIds: number[]
): Promise<NameClusterResponse> {
	const body =
		'personId' in choice
			? { personId: choice.personId, excludeFaceIds }
			: { name: choice.newName, excludeFaceIds };
	return call(
		api.POST('/api/v1/clusters/{cluster_id}/name', {
			params: { path: { cluster_id: clusterId } },
			body
		})
	);
}

/** Take the named faces back: they are unassigned again and regrouped into one new cluster
 *  (the server's `regroup`), so the cluster shows on the People page again at once; a person
 *  the naming created is deleted when no face is left. Returns how many faces were taken
 *  back. */
export async function undoNaming(named: NameClusterResponse): Promise<number> {
	let taken = 0;
	if (named.assignedFaceIds.length > 0) {
		const answer = await call(
			api.POST('/api/v1/faces/unassign', {
				body: { faceIds: named.assignedFaceIds, notThisPerson: false, regroup: true }
			})
		);
		taken = answer.processed;
	}
	if (named.created) await deletePersonIfEmpty(named.personId);
	return taken;
}
