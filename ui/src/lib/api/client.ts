// The typed API client: openapi-fetch over the paths generated from the server's OpenAPI
// document (schema.d.ts). Every call goes through `call`, which turns the server's JSON error
// shape {"error": {"code", "message"}} into an ApiError with a readable message.
import createClient from 'openapi-fetch';
import type { paths } from './schema';

export const api = createClient<paths>({ baseUrl: '' });

export class ApiError extends Error {
	constructor(
		message: string,
		readonly status: number,
		readonly code: string
	) {
		super(message);
		this.name = 'ApiError';
	}
}

type ErrorShape = { error?: { code?: string; message?: string } } | undefined;

/** Await an openapi-fetch call and return its data, or throw an ApiError. */
export async function call<T>(
	request: Promise<{ data?: T; error?: unknown; response: Response }>
): Promise<T> {
	let result;
	try {
		result = await request;
	} catch (cause) {
		throw new ApiError(`The server did not answer (${String(cause)})`, 0, 'network');
	}
	const { data, error, response } = result;
	if (error !== undefined || !response.ok) {
		const body = error as ErrorShape;
		const message = body?.error?.message ?? `${response.status} ${response.statusText}`;
		throw new ApiError(message, response.status, body?.error?.code ?? 'http_error');
	}
	return data as T;
}

/** A readable message for anything thrown by an API call. */
export function errorMessage(error: unknown): string {
	if (error instanceof Error) return error.message;
	return String(error);
}
