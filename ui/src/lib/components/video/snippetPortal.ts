// Opens the snippet player on top of everything: mounted on <body>, outside the page's DOM, so
// that a face tile inside a virtual grid (transformed rows, scrolled away and unmounted) never
// moves or takes the dialog with it.
import { mount, unmount } from 'svelte';
import SnippetPlayer from './SnippetPlayer.svelte';

let open: Record<string, unknown> | null = null;

/** Show the clip around face `faceId`; a player already open is replaced. */
export function openSnippetPlayer(faceId: number): void {
	closeSnippetPlayer();
	const instance: Record<string, unknown> = mount(SnippetPlayer, {
		target: document.body,
		props: { faceId, onclose: () => close(instance) }
	});
	open = instance;
}

function close(instance: Record<string, unknown>): void {
	if (open !== instance) return;
	open = null;
	void unmount(instance);
}

/** Close the player if one is open. */
export function closeSnippetPlayer(): void {
	if (open) close(open);
}
