// A real HTTP server on 127.0.0.1 that answers in the API's wire format (JSON bodies, problem details, ETags,
// Retry-After), so the client is tested over the network rather than against a mocked fetch.
import { createServer, STATUS_CODES, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

export type Handler = (request: SeenRequest, response: ServerResponse) => void | Promise<void>;

export interface TestApi {
  baseUrl: string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

export async function startApi(handler: Handler): Promise<TestApi> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const seen: SeenRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      requests.push(seen);
      Promise.resolve(handler(seen, res)).catch((error: unknown) => {
        sendProblem(res, 500, "internal_error", `test server: ${String(error)}`);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", ...headers });
  res.end(JSON.stringify(body));
}

/** A problem details answer exactly as docs/API.md (Errors) describes it. */
export function sendProblem(
  res: ServerResponse,
  status: number,
  code: string,
  detail: string,
  extra: { errors?: Record<string, string[]>; headers?: Record<string, string> } = {},
): void {
  const body: Record<string, unknown> = {
    type: `https://cleancrm.dev/problems/${code}`,
    title: STATUS_CODES[status] ?? "Error",
    status,
    detail,
    code,
    traceId: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
  };
  if (extra.errors) body.errors = extra.errors;
  res.writeHead(status, { "Content-Type": "application/problem+json; charset=utf-8", ...extra.headers });
  res.end(JSON.stringify(body));
}

export function noContent(res: ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(204, headers);
  res.end();
}
