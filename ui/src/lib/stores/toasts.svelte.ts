// Short notices in a corner of the screen; an optional action (e.g. Undo) per toast.
export type ToastKind = 'info' | 'success' | 'error';
export interface Toast {
	id: number;
	kind: ToastKind;
	message: string;
	action?: { label: string; run: () => void | Promise<void> };
}

let nextId = 1;
export const toasts = $state<Toast[]>([]);

export function dismissToast(id: number): void {
	const index = toasts.findIndex((t) => t.id === id);
	if (index >= 0) toasts.splice(index, 1);
}

/** Show a toast for `timeoutMs` (errors stay 10 s, others 5 s by default). */
export function showToast(
	message: string,
	kind: ToastKind = 'info',
	action?: Toast['action'],
	timeoutMs = kind === 'error' ? 10000 : 5000
): number {
	const id = nextId++;
	toasts.push({ id, kind, message, action });
	setTimeout(() => dismissToast(id), timeoutMs);
	return id;
}
