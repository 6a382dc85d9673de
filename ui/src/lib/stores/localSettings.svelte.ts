// Small user preferences kept in the browser's localStorage (page sizes, view options).
const PREFIX = 'image-search.';

export const localSettings = {
	get<T>(key: string, fallback: T): T {
		try {
			const raw = localStorage.getItem(PREFIX + key);
			return raw === null ? fallback : (JSON.parse(raw) as T);
		} catch {
			return fallback;
		}
	},
	set<T>(key: string, value: T): void {
		try {
			localStorage.setItem(PREFIX + key, JSON.stringify(value));
		} catch {
			// Storage full or disabled: the preference lasts for this page only.
		}
	}
};
