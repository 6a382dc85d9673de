// The keyboard shortcuts of the suggestions page (ShortcutHelp lists them). Keys typed into a
// text field, or pressed while the shortcut help is open, are left alone.
import type { ReviewAction } from './reviewHistory.svelte';
import { isTyping, thumbnailOf } from './thumbnailFocus';

/** The page's state and actions the shortcuts use. */
export interface SuggestionShortcutActions {
	/** The shortcut help is open: no shortcut applies. */
	helpOpen: boolean;
	/** The detail view is open: ←/→ step through it, a / r review the suggestion it shows. */
	detailOpen: boolean;
	stepDetail: (delta: number) => void;
	reviewDetail: (action: ReviewAction) => void;
	/** Review the selection, else the focused thumbnail. */
	review: (action: ReviewAction) => void;
	/** Move the focus over the thumbnails (an arrow key's name). */
	moveFocus: (key: string) => void;
	toggleFocused: () => void;
	selectAll: () => void;
	undoLast: () => void;
	/** Clear the selection and close the recently assigned panel; false when neither was there. */
	dismiss: () => boolean;
	openHelp: () => void;
}

/** Handle a key press on the suggestions page: run its action and prevent its default. */
export function handleSuggestionKey(
	event: KeyboardEvent,
	actions: SuggestionShortcutActions
): void {
	if (event.defaultPrevented || isTyping(event.target) || actions.helpOpen) return;
	const plain = !event.ctrlKey && !event.metaKey && !event.altKey;
	if (actions.detailOpen) {
		// A dialog over the detail view (the ▶ snippet player) has the keys.
		const dialog =
			event.target instanceof Element ? event.target.closest('[role="dialog"]') : null;
		if (dialog && !dialog.querySelector('[data-suggestion-detail]')) return;
		if (!plain) return;
		if (event.key === 'ArrowLeft') actions.stepDetail(-1);
		else if (event.key === 'ArrowRight') actions.stepDetail(1);
		else if (event.key === 'a') actions.reviewDetail('accept');
		else if (event.key === 'r') actions.reviewDetail('reject');
		else if (event.key === 'u') actions.undoLast();
		else return;
		event.preventDefault();
		return;
	}
	// The detail view or another dialog just handled this key (e.g. Escape closing it).
	if (event.target instanceof Element && event.target.closest('[role="dialog"]')) return;
	if ((event.ctrlKey || event.metaKey) && !event.altKey && event.key.toLowerCase() === 'a') {
		event.preventDefault();
		actions.selectAll();
		return;
	}
	if (!plain) return;
	const onThumbnail = thumbnailOf(event.target) !== null;
	switch (event.key) {
		case 'ArrowLeft':
		case 'ArrowRight':
		case 'ArrowUp':
		case 'ArrowDown':
			actions.moveFocus(event.key);
			break;
		case ' ':
			if (!onThumbnail) return;
			actions.toggleFocused();
			break;
		case 'x':
			actions.toggleFocused();
			break;
		case 'a':
			actions.review('accept');
			break;
		case 'r':
			actions.review('reject');
			break;
		case 'u':
			actions.undoLast();
			break;
		case 'Escape':
			if (!actions.dismiss()) return;
			break;
		case '?':
			actions.openHelp();
			break;
		default:
			return;
	}
	event.preventDefault();
}
