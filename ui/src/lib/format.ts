// Small display helpers shared by the pages.

/** The last part of a file path (either separator), e.g. "IMG_0001.jpg". */
export function fileName(path: string): string {
	return path.split(/[\\/]/).pop() ?? path;
}
