// Shapes shared by the library components.

/** A person picked for a face: an existing one, or a new one to create with that name. */
export type PersonChoice = { personId: number; name: string } | { newName: string };
