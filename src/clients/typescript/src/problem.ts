/** The problem details body the API answers every error with (RFC 9457, `application/problem+json`). */
export interface ProblemBody {
  type?: string | null;
  title?: string | null;
  status?: number | null;
  detail?: string | null;
  instance?: string | null;
  code?: string | null;
  traceId?: string | null;
  errors?: Record<string, string[]> | null;
  [extension: string]: unknown;
}

/**
 * An error answer of the API, typed. Switch on `code` (`validation_failed`, `precondition_failed`,
 * `plan_limit_reached`, `feature_disabled`, `rate_limited`, ...); `detail` is for people and may change.
 */
export class ProblemError extends Error {
  override readonly name = "ProblemError";
  /** HTTP status of the response. */
  readonly status: number;
  /** `https://cleancrm.dev/problems/<code>`, or `about:blank` when the body was not a problem document. */
  readonly type: string;
  /** The problem code, e.g. `validation_failed`; `http_<status>` when the body was not a problem document. */
  readonly code: string;
  readonly title: string;
  readonly detail: string | undefined;
  readonly traceId: string | undefined;
  /** Messages by field (`name`, `splits[0].memberId`, a plan limit); empty when the problem names no field. */
  readonly errors: Record<string, string[]>;
  /** Seconds the server asked to wait before retrying (`Retry-After`), when it said so. */
  readonly retryAfter: number | undefined;
  /** The whole problem document as received (extensions included). */
  readonly body: ProblemBody;
  /** The response headers (lower-case names). */
  readonly headers: Record<string, string>;

  constructor(status: number, body: ProblemBody, headers: Record<string, string> = {}, retryAfter?: number) {
    const code = stringOr(body.code, undefined) ?? codeFromType(body.type) ?? `http_${status}`;
    const title = stringOr(body.title, undefined) ?? `HTTP ${status}`;
    const detail = stringOr(body.detail, undefined);
    super(`${status} ${code}: ${detail ?? title}`);
    this.status = status;
    this.type = stringOr(body.type, undefined) ?? "about:blank";
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.traceId = stringOr(body.traceId, undefined);
    this.errors = normaliseErrors(body.errors);
    this.retryAfter = retryAfter;
    this.body = body;
    this.headers = headers;
  }

  /** True when `error` is a ProblemError, optionally with the given code. */
  static is(error: unknown, code?: string): error is ProblemError {
    return error instanceof ProblemError && (code === undefined || error.code === code);
  }
}

/** Reads a non-2xx response into a ProblemError (consumes the body). */
export async function problemFromResponse(response: Response): Promise<ProblemError> {
  const headers = headersToRecord(response.headers);
  const text = await response.text().catch(() => "");
  let body: ProblemBody = {};
  if (text.length > 0) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        body = parsed as ProblemBody;
      } else {
        body = { detail: text };
      }
    } catch {
      body = { detail: text.slice(0, 500) };
    }
  }
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  return new ProblemError(response.status, body, headers, retryAfter === undefined ? undefined : retryAfter / 1000);
}

/**
 * `Retry-After` in milliseconds from now: delta-seconds or an HTTP date (a date in the past is 0).
 * undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function headersToRecord(headers: Headers): Record<string, string> {
  const record: Record<string, string> = {};
  headers.forEach((value, key) => {
    record[key.toLowerCase()] = value;
  });
  return record;
}

function stringOr(value: unknown, fallback: string | undefined): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : fallback;
}

function codeFromType(type: unknown): string | undefined {
  if (typeof type !== "string") return undefined;
  const match = /\/problems\/([a-z0-9_]+)$/.exec(type);
  return match?.[1];
}

function normaliseErrors(errors: unknown): Record<string, string[]> {
  const result: Record<string, string[]> = {};
  if (typeof errors !== "object" || errors === null) return result;
  for (const [field, messages] of Object.entries(errors)) {
    if (Array.isArray(messages)) {
      result[field] = messages.filter((m): m is string => typeof m === "string");
    } else if (typeof messages === "string") {
      result[field] = [messages];
    }
  }
  return result;
}
