import type { Awaitable } from "./http.js";

/** A page of a list: `{ items, nextCursor }` (nextCursor null on the last page). */
export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
}

/** What a list call returns: a generated `ApiResponse<Page>` or the page itself. */
export type PageResult<T> = { result: Page<T> } | Page<T>;

/**
 * Walks every page of a list, following `nextCursor`, and yields the items one by one.
 *
 * - `iterate(cursor => client.companies.list(...args, cursor))` for any list call;
 * - `iterate(params => fetchPage(params), { limit: 100 })` for a function that takes an object: it gets the
 *   params with `cursor` set.
 */
export function iterate<T>(listFn: (cursor: string | undefined) => Awaitable<PageResult<T>>): AsyncGenerator<T, void>;
export function iterate<T, P extends object>(
  listFn: (params: P & { cursor?: string }) => Awaitable<PageResult<T>>,
  params: P,
): AsyncGenerator<T, void>;
export async function* iterate<T, P extends object>(
  listFn: ((cursor: string | undefined) => Awaitable<PageResult<T>>) | ((params: P & { cursor?: string }) => Awaitable<PageResult<T>>),
  params?: P,
): AsyncGenerator<T, void> {
  for await (const page of pages<T, P>(listFn as (params: P & { cursor?: string }) => Awaitable<PageResult<T>>, params)) {
    yield* page.items;
  }
}

/** Like {@link iterate}, but yields whole pages. */
export async function* pages<T, P extends object>(
  listFn: (arg: P & { cursor?: string }) => Awaitable<PageResult<T>>,
  params?: P,
): AsyncGenerator<Page<T>, void> {
  const call = listFn as (arg: unknown) => Awaitable<PageResult<T>>;
  const seen = new Set<string>();
  let cursor: string | undefined;
  do {
    const answer = await call(params === undefined ? cursor : { ...params, cursor });
    const page = "result" in answer ? answer.result : answer;
    if (!page || !Array.isArray(page.items)) throw new TypeError("iterate: the list call did not return { items, nextCursor }");
    yield page;
    cursor = page.nextCursor ?? undefined;
    // A server handing out the same cursor twice would loop forever.
    if (cursor !== undefined && seen.has(cursor)) throw new Error(`iterate: cursor ${cursor} came back twice`);
    if (cursor !== undefined) seen.add(cursor);
  } while (cursor !== undefined);
}
