// The one seam to the desktop backend: generated commands return `Result` objects;
// `unwrap` turns an error result into a thrown `BackendError` so React Query and
// async handlers can treat failures uniformly, keeping the stable `code`.
import type { AppError, ErrorCode } from "../bindings";

/** What a generated command returns. */
type Reply<T> = { status: "ok"; data: T } | { status: "error"; error: AppError };

export class BackendError extends Error {
  readonly code: ErrorCode;
  /** When the condition ends (a lock's expiry), RFC 3339 UTC. */
  readonly until: string | null;

  constructor(error: AppError) {
    super(error.message);
    this.name = "BackendError";
    this.code = error.code;
    this.until = error.until;
  }
}

/** Raised on `window` when the database ends the console session (expired, idle,
 *  revoked, the staff member suspended or given another role): the shell asks for the
 *  password again over the current screen, which keeps its state. */
export const SESSION_EXPIRED_EVENT = "penguin:session-expired";

export async function unwrap<T>(reply: Promise<Reply<T>>): Promise<T> {
  const result = await reply;
  if (result.status === "error") {
    if (result.error.code === "session_expired") {
      window.dispatchEvent(new CustomEvent(SESSION_EXPIRED_EVENT, { detail: result.error.message }));
    }
    throw new BackendError(result.error);
  }
  return result.data;
}

export function errorCode(error: unknown): ErrorCode | undefined {
  return error instanceof BackendError ? error.code : undefined;
}

export function errorUntil(error: unknown): string | null {
  return error instanceof BackendError ? error.until : null;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  return "Something went wrong. Details are in the log file.";
}
