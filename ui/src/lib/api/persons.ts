// Person calls shared by several pages.
import { api, call } from './client';

/** Delete person `personId` when it has no face left (undo of a naming or an assignment
 *  that created it). Returns whether it was deleted. Throws ApiError (e.g. 404). */
export async function deletePersonIfEmpty(personId: number): Promise<boolean> {
	const person = await call(
		api.GET('/api/v1/persons/{person_id}', { params: { path: { person_id: personId } } })
	);
	if (person.faceCount > 0) return false;
	await call(
		api.DELETE('/api/v1/persons/{person_id}', { params: { path: { person_id: personId } } })
	);
	return true;
}
