// The folder tree's data: the indexed roots and each folder's subfolders, fetched lazily from
// GET /api/v1/folders?parent=<path> when a folder is expanded, and kept for the whole visit.
import { api, call, errorMessage } from '$lib/api/client';
import type { Folder } from '$lib/api/types';

export type { Folder };

const ROOTS = '';

class FolderStore {
	/** Subfolders by parent path ('' for the roots); absent until loaded. */
	children = $state<Record<string, Folder[]>>({});
	/** Parents being loaded. */
	loading = $state<Record<string, boolean>>({});
	/** Load failures by parent path. */
	errors = $state<Record<string, string>>({});
	/** Expanded folders. */
	expanded = $state<Record<string, boolean>>({});
	#requests = new Map<string, Promise<Folder[]>>();
	/** The single root was expanded on its own once this visit (a collapse then sticks). */
	#soleRootOpened = false;

	get roots(): Folder[] | undefined {
		return this.children[ROOTS];
	}

	/** The roots (parent null) or the subfolders of `parent`, from the cache or the server. */
	load(parent: string | null, force = false): Promise<Folder[]> {
		const key = parent ?? ROOTS;
		const cached = this.children[key];
		if (cached && !force) return Promise.resolve(cached);
		const running = this.#requests.get(key);
		if (running) return running;
		this.loading[key] = true;
		delete this.errors[key];
		const request = call(
			api.GET('/api/v1/folders', { params: { query: { parent: parent ?? undefined } } })
		)
			.then((data) => {
				this.children[key] = data.folders;
				if (key === ROOTS) this.#openSoleRoot(data.folders);
				return data.folders;
			})
			.catch((e: unknown) => {
				this.errors[key] = errorMessage(e);
				throw e;
			})
			.finally(() => {
				delete this.loading[key];
				this.#requests.delete(key);
			});
		this.#requests.set(key, request);
		return request;
	}

	/** With exactly one root, start with it expanded (once: the user may collapse it). */
	#openSoleRoot(roots: Folder[]): void {
		if (roots.length !== 1 || this.#soleRootOpened) return;
		this.#soleRootOpened = true;
		const [root] = roots;
		if (!root.hasChildren || this.expanded[root.path]) return;
		this.expanded[root.path] = true;
		this.load(root.path).catch(() => {});
	}

	/** Expand or collapse `path`, loading its subfolders on first expansion. */
	toggle(path: string): void {
		if (this.expanded[path]) {
			delete this.expanded[path];
		} else {
			this.expanded[path] = true;
			this.load(path).catch(() => {});
		}
	}

	/** The root that holds `path` (or is it), once the roots are loaded. */
	rootOf(path: string): Folder | undefined {
		return this.roots?.find((r) => path === r.path || path.startsWith(withSlash(r.path)));
	}

	/**
	 * Expand every folder above `path` so that it shows in the tree, and `path` itself when it
	 * has subfolders (loads as it goes).
	 */
	async reveal(path: string): Promise<void> {
		const roots = await this.load(null);
		let current = roots.find((r) => path === r.path || path.startsWith(withSlash(r.path)));
		while (current) {
			if (current.path === path && !current.hasChildren) break;
			this.expanded[current.path] = true;
			const level = await this.load(current.path);
			if (current.path === path) break;
			const above = current.path;
			current = level.find(
				(f) => f.path !== above && (path === f.path || path.startsWith(withSlash(f.path)))
			);
		}
	}

	/** Load every level loaded so far again (new folders, new counts); what is shown stays
	 * until the answers arrive. */
	refresh(): void {
		for (const key of Object.keys(this.children)) {
			this.load(key === ROOTS ? null : key, true).catch(() => {});
		}
	}

	/** Forget everything (e.g. after an index run added folders). */
	clear(): void {
		this.children = {};
		this.errors = {};
	}
}

function withSlash(path: string): string {
	return path.endsWith('/') ? path : `${path}/`;
}

export const folders = new FolderStore();

/** The folders from the root down to `path`, as {path, name}, for a breadcrumb. */
export function trail(path: string, rootPath: string | null): { path: string; name: string }[] {
	if (!rootPath) return [{ path, name: path }];
	const steps = [{ path: rootPath, name: baseName(rootPath) }];
	const rest = path.slice(rootPath.length).split('/').filter(Boolean);
	let at = rootPath.replace(/\/+$/, '');
	for (const part of rest) {
		at = `${at}/${part}`;
		steps.push({ path: at, name: part });
	}
	return steps;
}

/** The last part of a path ("/" for the file system root). */
export function baseName(path: string): string {
	const parts = path.split('/').filter(Boolean);
	return parts.at(-1) ?? '/';
}
