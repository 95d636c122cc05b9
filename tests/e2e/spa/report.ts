// What the SPA page found out, rendered as JSON into #report for the browser suite to read.
export interface SpaReport {
  email: string;
  org: string;
  /** The first contact the page created: its ETag and Location were readable across origins. */
  created: { id: string; etag: string | null; location: string | null };
  /** A merge patch sent with If-Match (an allowed request header): its new ETag, and the typed 412 of a stale one. */
  patched: { etag: string | null; staleStatus: number | null; staleCode: string | null };
  /** RateLimit-* of a list response, as the page could read them. */
  rateLimit: { limit: string | null; remaining: string | null; reset: string | null };
  /** The contacts the page listed (walking every page) and rendered. */
  listed: number;
  /** A burst past the plan's rate limit without retries: the typed 429s and the Retry-After the page could read. */
  burst: { calls: number; rateLimited: number; code: string | null; retryAfter: number | null };
  /** One more call through the retrying client right after the burst: it waited and succeeded. */
  retry: { retries: number; status: number };
}
