/** Anything that carries response headers: a generated `ApiResponse`, a fetch `Response`, or `Headers`. */
export type HasHeaders = { headers: Record<string, unknown> | Headers } | Response | Headers;

/** The `ETag` of a response (`"1234"`), or undefined when it has none. */
export function etagOf(source: HasHeaders | null | undefined): string | undefined {
  if (!source) return undefined;
  const headers = source instanceof Headers ? source : source.headers;
  if (headers instanceof Headers) return headers.get("etag") ?? undefined;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === "etag" && typeof value === "string" && value.length > 0) return value;
  }
  return undefined;
}

/**
 * The `If-Match` value for a write that must only happen on the version a read returned: pass the read's
 * response (or its ETag). Throws when there is no ETag, since sending none would drop the precondition.
 */
export function ifMatch(source: HasHeaders | string): string {
  const etag = typeof source === "string" ? source : etagOf(source);
  if (!etag) throw new TypeError("ifMatch: the response has no ETag header");
  return etag;
}
