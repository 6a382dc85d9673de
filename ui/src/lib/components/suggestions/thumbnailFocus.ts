// Keyboard focus over the suggestion thumbnails of a page (buttons with data-suggestion-id).
import { tick } from 'svelte';

const SELECTOR = '[data-suggestion-id]';

/** The thumbnail button containing `element`, if any. */
export function thumbnailOf(element: EventTarget | Element | null): HTMLElement | null {
	return element instanceof Element ? element.closest<HTMLElement>(SELECTOR) : null;
}

/** The suggestion id of the focused thumbnail, or null. */
export function focusedSuggestionId(): number | null {
	const id = Number(thumbnailOf(document.activeElement)?.dataset.suggestionId);
	return Number.isInteger(id) && id > 0 ? id : null;
}

/** Focus the thumbnail of suggestion `id` once the DOM is up to date. */
export function focusThumbnail(root: HTMLElement | undefined, id: number | null): void {
	if (id === null || !root) return;
	tick().then(() => root.querySelector<HTMLElement>(`[data-suggestion-id="${id}"]`)?.focus());
}

/**
 * Arrow keys over the thumbnails under `root`: left / right in reading order, up / down to
 * the closest thumbnail in the row above / below. Without a focused thumbnail, the first one.
 */
export function moveThumbnailFocus(root: HTMLElement, key: string): void {
	const buttons = [...root.querySelectorAll<HTMLElement>(SELECTOR)];
	if (buttons.length === 0) return;
	const current = thumbnailOf(document.activeElement);
	const index = current ? buttons.indexOf(current) : -1;
	if (!current || index < 0) {
		buttons[0].focus();
		return;
	}
	let target: HTMLElement | undefined;
	if (key === 'ArrowRight') target = buttons[index + 1];
	else if (key === 'ArrowLeft') target = buttons[index - 1];
	else {
		const from = current.getBoundingClientRect();
		const centre = from.left + from.width / 2;
		let best = Infinity;
		for (const button of buttons) {
			const rect = button.getBoundingClientRect();
			const dy = key === 'ArrowDown' ? rect.top - from.bottom : from.top - rect.bottom;
			if (dy < -1) continue;
			const score = dy * 10 + Math.abs(rect.left + rect.width / 2 - centre);
			if (score < best) {
				best = score;
				target = button;
			}
		}
	}
	target?.focus();
}

/** Whether a key press goes to a text field (shortcuts are off there). */
export function isTyping(target: EventTarget | null): boolean {
	if (!(target instanceof HTMLElement)) return false;
	if (target.isContentEditable) return true;
	if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
	return (
		target instanceof HTMLInputElement &&
		!['checkbox', 'radio', 'button', 'submit'].includes(target.type)
	);
}
