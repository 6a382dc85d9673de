// The fixes of one face in the asset view: assign it to a person (or a new one), unassign it,
// or "Not this person". Each comes with its success message and the call that takes it back.
import { api, call } from '$lib/api/client';
import { deletePersonIfEmpty } from '$lib/api/persons';
import type { Face } from '$lib/api/types';
import type { PersonChoice } from './types';

/** A fix to run: `run` resolves to the message to show; `undo` (if any) takes it back. */
export interface FaceFix {
	run: () => Promise<string>;
	undo: (() => Promise<unknown>) | null;
}

interface ItemResults {
	failed: number;
	results: { ok: boolean; message?: string | null }[];
}

function checkOne(result: ItemResults): void {
	if (result.failed > 0) throw new Error(result.results.find((r) => !r.ok)?.message ?? 'refused');
}

/** Give face `faceId` to a person (or a new one); returns the person's id and name. */
async function assignTo(
	faceId: number,
	choice: PersonChoice
): Promise<{ id: number; name: string }> {
	const body =
		'personId' in choice
			? { faceIds: [faceId], personId: choice.personId }
			: { faceIds: [faceId], newPersonName: choice.newName };
	const result = await call(api.POST('/api/v1/faces/assign', { body }));
	checkOne(result);
	const name = 'personId' in choice ? choice.name : choice.newName;
	return { id: result.personId ?? ('personId' in choice ? choice.personId : -1), name };
}

async function unassignFace(faceId: number, notThisPerson: boolean): Promise<void> {
	const result = await call(
		api.POST('/api/v1/faces/unassign', {
			body: { faceIds: [faceId], notThisPerson, regroup: false }
		})
	);
	checkOne(result);
}

/**
 * Assign `face` to `choice`; undo gives it back to its previous person, or unassigns it, and
 * deletes the person the assignment created (when `choice` is a new name) if no face is left.
 */
export function assignFix(face: Face, choice: PersonChoice): FaceFix {
	const previous = face.personId;
	const previousName = face.personName;
	let created: number | null = null;
	return {
		run: async () => {
			const person = await assignTo(face.id, choice);
			if ('newName' in choice && person.id > 0) created = person.id;
			return `Face assigned to ${person.name}`;
		},
		undo: async () => {
			if (previous !== null && previousName !== null) {
				await assignTo(face.id, { personId: previous, name: previousName });
			} else {
				await unassignFace(face.id, false);
			}
			if (created !== null) await deletePersonIfEmpty(created);
		}
	};
}

/**
 * Take `face` from its person (with `notThisPerson`, never suggest it for them again); undo
 * gives it back. Null when the face has no person.
 */
export function unassignFix(face: Face, notThisPerson: boolean): FaceFix | null {
	const previous = face.personId;
	const name = face.personName ?? 'this person';
	if (previous === null) return null;
	return {
		run: async () => {
			await unassignFace(face.id, notThisPerson);
			return notThisPerson
				? `Not ${name}: this face will not be suggested for them again`
				: `Face removed from ${name}`;
		},
		undo: () => assignTo(face.id, { personId: previous, name })
	};
}
