// The "/" shortcut: focus the search field (the header's, or the search page's own), unless
// the user is typing in a field or a dialog (Modal) is open.

/** The attribute that marks a search field; the first visible one gets the focus. */
export const SEARCH_FIELD_ATTRIBUTE = 'data-search-field';

/**
 * The attributes of a search field (the header's and the search page's), to spread on an
 * `<input type="search">` (the type stays written out: `bind:value` needs it static): the
 * marker "/" looks for, the shortcut announced, Enter labelled "search", no autofill.
 */
export const searchFieldAttributes = {
	[SEARCH_FIELD_ATTRIBUTE]: '',
	'aria-keyshortcuts': '/',
	enterkeyhint: 'search',
	autocomplete: 'off'
} as const;

/** A keydown handler for the window: "/" focuses the search field. */
export function focusSearchOnSlash(event: KeyboardEvent): void {
	if (event.key !== '/' || event.defaultPrevented) return;
	if (event.altKey || event.ctrlKey || event.metaKey) return;
	const target = event.target instanceof HTMLElement ? event.target : null;
	if (target?.closest('input, textarea, select, [contenteditable="true"]')) return;
	if (document.querySelector('[data-modal]')) return;
	const fields = document.querySelectorAll<HTMLInputElement>(`[${SEARCH_FIELD_ATTRIBUTE}]`);
	const field = [...fields].find((f) => f.getClientRects().length > 0);
	if (!field) return;
	event.preventDefault();
	field.focus();
	field.select();
}
