import { parseRetryAfter, problemFromResponse } from "./problem.js";

export type Awaitable<T> = T | Promise<T>;

/** The shape of `fetch` the generated clients call. */
export type FetchLike = (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;

export interface RetryOptions {
  /** Tries in all, the first one included (default 3). 1 turns retries off. */
  maxAttempts?: number;
  /** Longest wait before a retry (default 30 000 ms); a longer `Retry-After` gives up at once with the ProblemError. */
  maxDelayMs?: number;
}

/** Called before each retry: for logging or metrics. */
export interface RetryEvent {
  method: string;
  url: string;
  status: number;
  attempt: number;
  delayMs: number;
}

export interface CleanCrmFetchOptions {
  /** The access token to send as `Authorization: Bearer`; called for every request (so a refreshed token is used). */
  accessToken?: () => Awaitable<string | undefined | null>;
  /** The organization to send as `X-Org` (id or slug) when the call does not set it. */
  org?: string | (() => Awaitable<string | undefined | null>);
  retry?: RetryOptions;
  /** Extra headers set on every request that does not carry them already (`If-Match` of `client.with`). */
  headers?: Record<string, string>;
  onRetry?: (event: RetryEvent) => void;
  /** The fetch to call (default: the global fetch). */
  fetch?: FetchLike;
}

export const defaultRetry: Required<RetryOptions> = { maxAttempts: 3, maxDelayMs: 30_000 };

/** Methods a server may run twice without harm: retried after 429 and 503. */
const idempotent = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/**
 * Decides whether a failed try may be repeated. 429 means the request was refused before anything ran, so any
 * method may be retried; 503 may come after a write started, so only idempotent methods are.
 */
export function isRetryable(method: string, status: number): boolean {
  if (status === 429) return true;
  return status === 503 && idempotent.has(method.toUpperCase());
}

/**
 * A fetch that attaches the bearer token and `X-Org`, retries 429/503 after `Retry-After` (bounded), and turns
 * every error status (>= 400) into a thrown {@link ProblemError}, so the generated clients never see one.
 */
export function createCleanCrmFetch(options: CleanCrmFetchOptions = {}): FetchLike {
  const retry = { ...defaultRetry, ...options.retry };
  const maxAttempts = Math.max(1, Math.floor(retry.maxAttempts));
  const baseFetch: FetchLike = options.fetch ?? ((input, init) => globalThis.fetch(input, init));

  return async (input, init) => {
    const method = (init?.method ?? (input instanceof Request ? input.method : "GET")).toUpperCase();
    const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    // NSwag's Fetch template sends the optional header parameters a call left out as empty strings.
    for (const [name, value] of [...headers]) {
      if (value === "") headers.delete(name);
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== "" && !headers.has(name)) headers.set(name, value);
    }
    if (!headers.has("authorization") && options.accessToken) {
      const token = await options.accessToken();
      if (token) headers.set("Authorization", `Bearer ${token}`);
    }
    if (!headers.has("x-org") && options.org !== undefined) {
      const org = typeof options.org === "function" ? await options.org() : options.org;
      if (org) headers.set("X-Org", org);
    }

    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const replayable = isReplayable(init?.body);
    for (let attempt = 1; ; attempt++) {
      const response = await baseFetch(input, { ...init, headers });
      if (response.status < 400) return response;
      if (attempt < maxAttempts && replayable && isRetryable(method, response.status)) {
        const delayMs = parseRetryAfter(response.headers.get("retry-after")) ?? backoff(attempt);
        if (delayMs <= retry.maxDelayMs) {
          await response.body?.cancel().catch(() => undefined);
          options.onRetry?.({ method, url, status: response.status, attempt, delayMs });
          await sleep(delayMs, init?.signal ?? undefined);
          continue;
        }
      }
      throw await problemFromResponse(response);
    }
  };
}

/** Without `Retry-After`: 0.5 s, 1 s, 2 s, ... */
function backoff(attempt: number): number {
  return 500 * 2 ** (attempt - 1);
}

/** A body that can be sent again as it is (a stream cannot). */
function isReplayable(body: RequestInit["body"]): boolean {
  return (
    body === undefined ||
    body === null ||
    typeof body === "string" ||
    body instanceof URLSearchParams ||
    body instanceof FormData ||
    body instanceof Blob ||
    body instanceof ArrayBuffer ||
    ArrayBuffer.isView(body)
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
