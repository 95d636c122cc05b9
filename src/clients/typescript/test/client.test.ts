import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import {
  createCleanCrmClient,
  etagOf,
  ifMatch,
  iterate,
  parseRetryAfter,
  ProblemError,
  type CleanCrmClient,
  type CleanCrmClientOptions,
  type RetryEvent,
} from "../src/index.js";
import { noContent, sendJson, sendProblem, startApi, type Handler, type SeenRequest, type TestApi } from "./api-server.js";

const companyId = "0193a5b2-7c1e-7d3a-9f00-000000000001";

function company(id: string, name: string, version = 1) {
  return {
    id,
    name,
    domain: null,
    industry: null,
    employeeCount: null,
    annualRevenue: null,
    currency: null,
    address: null,
    ownerId: null,
    customFields: {},
    createdAt: "2026-11-25T17:00:00Z",
    updatedAt: `2026-11-25T17:00:0${version}Z`,
  };
}

// The handler of the current test; the server lives for the whole file.
let handle: Handler = (_request, res) => sendProblem(res, 404, "not_found", "no handler");
let api: TestApi;

before(async () => {
  api = await startApi((request, res) => handle(request, res));
});
after(async () => {
  await api.close();
});
beforeEach(() => {
  api.requests.length = 0;
});

function client(options: Partial<CleanCrmClientOptions> = {}): CleanCrmClient {
  return createCleanCrmClient({ baseUrl: `${api.baseUrl}/`, accessToken: () => "token-1", org: "acme", ...options });
}

async function rejection(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProblemError, `expected a ProblemError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the call to fail");
}

function only(requests: SeenRequest[]): SeenRequest {
  assert.equal(requests.length, 1, `expected one request, got ${requests.map((r) => `${r.method} ${r.path}`).join(", ")}`);
  return requests[0] as SeenRequest;
}

describe("authentication and organization", () => {
  test("every call carries the current bearer token and X-Org", async () => {
    handle = (_request, res) => sendJson(res, 200, { items: [], nextCursor: null });
    let token = "token-1";
    const crm = client({ accessToken: async () => token });
    await crm.companies.list();
    token = "token-2";
    await crm.companies.list();
    assert.deepEqual(
      api.requests.map((r) => [r.method, r.path, r.headers.authorization, r.headers["x-org"]]),
      [
        ["GET", "/api/v1/companies", "Bearer token-1", "acme"],
        ["GET", "/api/v1/companies", "Bearer token-2", "acme"],
      ],
    );
  });

  test("the organization can be a function, and with() overrides it for some calls", async () => {
    handle = (_request, res) => sendJson(res, 200, { items: [], nextCursor: null });
    const crm = client({ org: () => "org-from-session" });
    await crm.companies.list();
    await crm.with({ org: "other-org" }).companies.list();
    assert.deepEqual(api.requests.map((r) => r.headers["x-org"]), ["org-from-session", "other-org"]);
  });

  test("no token sends no Authorization header, and optional headers left out are not sent empty", async () => {
    handle = (_request, res) => sendJson(res, 200, company(companyId, "Acme"), { ETag: '"1"' });
    await client({ accessToken: () => undefined }).companies.update(companyId, { name: "Acme" });
    const request = only(api.requests);
    assert.equal(request.headers.authorization, undefined);
    assert.equal(request.headers["if-match"], undefined);
    assert.equal(request.headers["x-org"], "acme");
  });
});

describe("uploads", () => {
  test("the CSV import goes out as multipart/form-data with the file, the token and X-Org", async () => {
    handle = (_request, res) =>
      sendJson(res, 202, { importId: companyId }, { Location: `/api/v1/imports/${companyId}` });
    const csv = new Blob(["email,firstName\nada@example.com,Ada\n"], { type: "text/csv" });
    const accepted = await client().imports.startContactImport(undefined, undefined, { data: csv, fileName: "contacts.csv" });
    assert.equal(accepted.status, 202);
    assert.equal(accepted.result.importId, companyId);
    assert.equal(accepted.headers["location"], `/api/v1/imports/${companyId}`);
    const request = only(api.requests);
    assert.equal(request.path, "/api/v1/imports/contacts");
    assert.match(request.headers["content-type"] ?? "", /^multipart\/form-data; boundary=/);
    assert.match(request.body, /name="file"; filename="contacts.csv"\r\nContent-Type: text\/csv\r\n\r\nemail,firstName\nada@example.com,Ada\n/);
    assert.equal(request.headers.authorization, "Bearer token-1");
    assert.equal(request.headers["x-org"], "acme");
  });
});

describe("problem details", () => {
  test("a 400 with field errors becomes a ProblemError with every field", async () => {
    handle = (_request, res) =>
      sendProblem(res, 400, "validation_failed", "name: is required.", { errors: { name: ["is required."], domain: ["is not a host name."] } });
    const error = await rejection(client().companies.create({ name: "" }));
    assert.equal(error.status, 400);
    assert.equal(error.code, "validation_failed");
    assert.equal(error.type, "https://cleancrm.dev/problems/validation_failed");
    assert.equal(error.title, "Bad Request");
    assert.equal(error.detail, "name: is required.");
    assert.equal(error.traceId, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
    assert.deepEqual(error.errors, { name: ["is required."], domain: ["is not a host name."] });
    assert.equal(error.retryAfter, undefined);
    assert.equal(error.message, "400 validation_failed: name: is required.");
    assert.ok(ProblemError.is(error, "validation_failed"));
  });

  test("a 412 precondition_failed is typed", async () => {
    handle = (_request, res) => sendProblem(res, 412, "precondition_failed", "The record changed since it was read.");
    const error = await rejection(client().with({ ifMatch: '"1"' }).companies.update(companyId, { name: "Acme" }));
    assert.equal(error.status, 412);
    assert.equal(error.code, "precondition_failed");
    assert.equal(error.title, "Precondition Failed");
    assert.deepEqual(error.errors, {});
  });

  test("a 402 plan_limit_reached names the limit in errors", async () => {
    handle = (_request, res) =>
      sendProblem(res, 402, "plan_limit_reached", "The free plan includes 1 seat.", { errors: { seats: ["1 of 1 used; upgrade to add seats."] } });
    const error = await rejection(client().invitations.create({ email: "second@example.com", role: "member" }));
    assert.equal(only(api.requests).path, "/api/v1/invitations");
    assert.equal(error.status, 402);
    assert.equal(error.code, "plan_limit_reached");
    assert.deepEqual(error.errors, { seats: ["1 of 1 used; upgrade to add seats."] });
  });

  test("an error without a problem body still becomes a ProblemError", async () => {
    handle = (_request, res) => {
      res.writeHead(502, { "Content-Type": "text/plain" });
      res.end("bad gateway");
    };
    const error = await rejection(client().companies.get(companyId));
    assert.equal(error.status, 502);
    assert.equal(error.code, "http_502");
    assert.equal(error.type, "about:blank");
    assert.equal(error.detail, "bad gateway");
  });
});

describe("retries", () => {
  test("a 429 is retried after Retry-After seconds, then succeeds", async () => {
    let calls = 0;
    handle = (_request, res) => {
      calls++;
      if (calls === 1) sendProblem(res, 429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "1" } });
      else sendJson(res, 200, { items: [company(companyId, "Acme")], nextCursor: null });
    };
    const retries: RetryEvent[] = [];
    const started = Date.now();
    const page = await client({ onRetry: (event) => retries.push(event) }).companies.list();
    const elapsed = Date.now() - started;
    assert.equal(page.status, 200);
    assert.equal(page.result.items[0]?.name, "Acme");
    assert.equal(api.requests.length, 2);
    assert.ok(elapsed >= 950, `waited only ${elapsed} ms`);
    assert.deepEqual(retries.map((r) => [r.method, r.status, r.attempt, r.delayMs]), [["GET", 429, 1, 1000]]);
    assert.equal(api.requests[1]?.headers.authorization, "Bearer token-1");
  });

  test("a 503 with an HTTP-date Retry-After is retried for a GET", async () => {
    let calls = 0;
    handle = (_request, res) => {
      calls++;
      if (calls === 1) {
        const when = new Date(Date.now() + 1000).toUTCString();
        sendProblem(res, 503, "tenant_connections_exhausted", "Busy.", { headers: { "Retry-After": when } });
      } else {
        sendJson(res, 200, company(companyId, "Acme"), { ETag: '"1"' });
      }
    };
    const read = await client().companies.get(companyId);
    assert.equal(read.result.name, "Acme");
    assert.equal(api.requests.length, 2);
  });

  test("a POST is retried after 429 (refused before it ran) but not after 503", async () => {
    let calls = 0;
    handle = (_request, res) => {
      calls++;
      if (calls === 1) sendProblem(res, 429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "0" } });
      else sendJson(res, 201, company(companyId, "Acme"), { ETag: '"1"', Location: `/api/v1/companies/${companyId}` });
    };
    const created = await client().companies.create({ name: "Acme" });
    assert.equal(created.status, 201);
    assert.deepEqual(api.requests.map((r) => r.body), ['{"name":"Acme"}', '{"name":"Acme"}']);

    api.requests.length = 0;
    handle = (_request, res) => sendProblem(res, 503, "import_not_queued", "Nothing was imported.", { headers: { "Retry-After": "0" } });
    const error = await rejection(client().companies.create({ name: "Acme" }));
    assert.equal(error.code, "import_not_queued");
    assert.equal(api.requests.length, 1);
  });

  test("retries are bounded: after maxAttempts the ProblemError is thrown", async () => {
    handle = (_request, res) => sendProblem(res, 429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "0" } });
    const error = await rejection(client({ retry: { maxAttempts: 3 } }).companies.list());
    assert.equal(api.requests.length, 3);
    assert.equal(error.status, 429);
    assert.equal(error.code, "rate_limited");
    assert.equal(error.retryAfter, 0);
  });

  test("a Retry-After longer than maxDelayMs gives up at once", async () => {
    handle = (_request, res) => sendProblem(res, 429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "120" } });
    const error = await rejection(client({ retry: { maxDelayMs: 5_000 } }).companies.list());
    assert.equal(api.requests.length, 1);
    assert.equal(error.retryAfter, 120);
  });

  test("aborting the call cancels the wait before a retry", async () => {
    handle = (_request, res) => sendProblem(res, 429, "rate_limited", "Too many requests.", { headers: { "Retry-After": "20" } });
    const controller = new AbortController();
    const crm = client({ onRetry: () => controller.abort(new Error("user left the page")) });
    const started = Date.now();
    await assert.rejects(crm.fetch(`${api.baseUrl}/api/v1/companies`, { signal: controller.signal }), /user left the page/);
    assert.ok(Date.now() - started < 5_000, "the wait was not cancelled");
    assert.equal(api.requests.length, 1);
  });

  test("Retry-After is read as seconds or as an HTTP date", () => {
    const now = Date.parse("2026-12-03T05:00:00Z");
    assert.equal(parseRetryAfter("2", now), 2000);
    assert.equal(parseRetryAfter("Thu, 03 Dec 2026 05:00:07 GMT", now), 7000);
    assert.equal(parseRetryAfter("Thu, 03 Dec 2026 04:59:00 GMT", now), 0);
    assert.equal(parseRetryAfter("soon", now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});

describe("lists", () => {
  test("iterate walks every page by nextCursor", async () => {
    const all = Array.from({ length: 7 }, (_, i) => company(`0193a5b2-7c1e-7d3a-9f00-00000000001${i}`, `Company ${i + 1}`));
    handle = (request, res) => {
      const limit = Number(request.query.get("limit") ?? 50);
      const start = request.query.has("cursor") ? Number(Buffer.from(request.query.get("cursor") ?? "", "base64url").toString()) : 0;
      const end = Math.min(start + limit, all.length);
      const nextCursor = end < all.length ? Buffer.from(String(end)).toString("base64url") : null;
      sendJson(res, 200, { items: all.slice(start, end), nextCursor });
    };
    const crm = client();
    const names: string[] = [];
    for await (const item of iterate((cursor) => crm.companies.list(undefined, 3, cursor))) names.push(item.name);
    assert.deepEqual(names, all.map((c) => c.name));
    assert.deepEqual(
      api.requests.map((r) => [r.query.get("limit"), r.query.get("cursor")]),
      [
        ["3", null],
        ["3", Buffer.from("3").toString("base64url")],
        ["3", Buffer.from("6").toString("base64url")],
      ],
    );
  });
});

describe("iterate over a function taking params", () => {
  test("gets the params with each cursor and yields pages in order", async () => {
    const seen: Array<string | undefined> = [];
    const fetchPage = async (params: { limit: number; cursor?: string }) => {
      seen.push(params.cursor);
      const pages: Record<string, { items: number[]; nextCursor: string | null }> = {
        first: { items: [1, 2], nextCursor: "b" },
        b: { items: [3, 4], nextCursor: "c" },
        c: { items: [5], nextCursor: null },
      };
      const page = pages[params.cursor ?? "first"];
      assert.ok(page, `unknown cursor ${params.cursor}`);
      assert.equal(params.limit, 2);
      return page;
    };
    const items: number[] = [];
    for await (const item of iterate(fetchPage, { limit: 2 })) items.push(item);
    assert.deepEqual(items, [1, 2, 3, 4, 5]);
    assert.deepEqual(seen, [undefined, "b", "c"]);
  });
});

describe("ETags", () => {
  test("the ETag of a read is sent back as If-Match, and a stale one is a 412", async () => {
    let version = 3;
    handle = (request, res) => {
      if (request.method === "GET") {
        sendJson(res, 200, company(companyId, "Acme", version), { ETag: `"${version}"` });
      } else if (request.method === "PATCH") {
        const match = request.headers["if-match"];
        if (match !== undefined && match !== `"${version}"`) {
          sendProblem(res, 412, "precondition_failed", "The record changed since it was read.");
          return;
        }
        version++;
        sendJson(res, 200, { ...company(companyId, "Acme Corp", version) }, { ETag: `"${version}"` });
      } else {
        noContent(res);
      }
    };
    const crm = client();
    const read = await crm.companies.get(companyId);
    assert.equal(etagOf(read), '"3"');
    const updated = await crm.with({ ifMatch: ifMatch(read) }).companies.update(companyId, { name: "Acme Corp" });
    assert.equal(etagOf(updated), '"4"');
    assert.equal(updated.result.name, "Acme Corp");
    // The document lists If-Match as a parameter of the update too: the same ETag can go there.
    const stale = await rejection(crm.companies.update(companyId, { name: "Again" }, undefined, ifMatch(read)));
    assert.equal(stale.code, "precondition_failed");
    assert.deepEqual(api.requests.map((r) => [r.method, r.headers["if-match"]]), [
      ["GET", undefined],
      ["PATCH", '"3"'],
      ["PATCH", '"3"'],
    ]);
    assert.throws(() => ifMatch({ headers: {} }), /no ETag/);
  });
});
