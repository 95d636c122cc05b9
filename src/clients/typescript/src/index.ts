import * as generated from "./generated.js";
import { createCleanCrmFetch, type Awaitable, type FetchLike, type RetryEvent, type RetryOptions } from "./http.js";

export * from "./generated.js";
export { ProblemError, problemFromResponse, parseRetryAfter, type ProblemBody } from "./problem.js";
export { createCleanCrmFetch, isRetryable, type Awaitable, type FetchLike, type RetryEvent, type RetryOptions } from "./http.js";
export { etagOf, ifMatch, type HasHeaders } from "./etag.js";
export { iterate, pages, type Page, type PageResult } from "./paging.js";

type Generated = typeof generated;
type ClientConstructor = abstract new (baseUrl?: string, http?: { fetch: FetchLike }) => object;
type ClientName<K> = K extends `${infer Tag}Client` ? Uncapitalize<Tag> : never;

/** One property per generated client: `CompaniesClient` → `companies`, `CalendarEventsClient` → `calendarEvents`. */
export type CleanCrmClients = {
  [K in keyof Generated as Generated[K] extends ClientConstructor ? ClientName<K> : never]: Generated[K] extends abstract new (
    ...args: never[]
  ) => infer Instance
    ? Instance
    : never;
};

export interface CleanCrmClientOptions {
  /** The API's origin, e.g. `https://api.cleancrm.example` (the operations carry the `/api/v1` path). */
  baseUrl: string;
  /** Returns the current access token (called before every request). */
  accessToken: () => Awaitable<string | undefined | null>;
  /** The organization (id or slug) sent as `X-Org` on calls that do not pass one. */
  org?: string | (() => Awaitable<string | undefined | null>);
  retry?: RetryOptions;
  onRetry?: (event: RetryEvent) => void;
  /** The fetch to use (default: the global fetch). */
  fetch?: FetchLike;
}

/** Per-call headers for {@link CleanCrmClient.with}. */
export interface CallOptions {
  /** Sent as `If-Match`: the write happens only if the record is still at this version (else 412). */
  ifMatch?: string;
  /** Sent as `X-Org` instead of the client's organization. */
  org?: string;
  headers?: Record<string, string>;
}

export type CleanCrmClient = CleanCrmClients & {
  /** The wrapped fetch (token, `X-Org`, retries, ProblemError) for routes outside the generated clients. */
  readonly fetch: FetchLike;
  /** A client that also sends these headers, e.g. `client.with({ ifMatch: etagOf(read) }).companies.update(...)`. */
  with(options: CallOptions): CleanCrmClient;
};

/**
 * The CleanCrm API client: the generated clients over a fetch that attaches the bearer token and `X-Org`, retries
 * 429/503 after `Retry-After`, and throws {@link ProblemError} for every error answer.
 */
export function createCleanCrmClient(options: CleanCrmClientOptions): CleanCrmClient {
  return build(options, {});
}

function build(options: CleanCrmClientOptions, extra: Record<string, string>): CleanCrmClient {
  const fetch = createCleanCrmFetch({
    accessToken: options.accessToken,
    org: options.org,
    retry: options.retry,
    onRetry: options.onRetry,
    fetch: options.fetch,
    headers: extra,
  });
  const baseUrl = options.baseUrl.replace(/\/+$/, "");
  const clients: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(generated)) {
    if (typeof value === "function" && name.endsWith("Client") && name.length > "Client".length) {
      const Client = value as unknown as new (baseUrl: string, http: { fetch: FetchLike }) => object;
      const tag = name.slice(0, -"Client".length);
      clients[tag.charAt(0).toLowerCase() + tag.slice(1)] = new Client(baseUrl, { fetch });
    }
  }
  const client = {
    ...clients,
    fetch,
    with(call: CallOptions): CleanCrmClient {
      const headers = { ...extra, ...call.headers };
      if (call.ifMatch !== undefined) headers["If-Match"] = call.ifMatch;
      if (call.org !== undefined) headers["X-Org"] = call.org;
      return build(options, headers);
    },
  };
  return client as unknown as CleanCrmClient;
}
