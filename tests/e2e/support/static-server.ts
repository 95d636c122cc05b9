// The SPA's own origin: a tiny static file server for tests/e2e/spa (its pages and the esbuild bundle), plus
// /config.json telling the page where the API is.
import { createServer, type Server } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const spaDir = fileURLToPath(new URL('../spa/', import.meta.url));
const files: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/callback.html': 'callback.html',
  '/app.js': 'dist/app.js',
  '/app.js.map': 'dist/app.js.map',
};
const types: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export interface SpaConfig {
  apiUrl: string;
  clientId: string;
  redirectUri: string;
}

export interface StaticServer {
  origin: string;
  /** Paths the browser asked for, in order. */
  requests: string[];
  close(): Promise<void>;
}

export async function startStaticServer(port: number, config: SpaConfig): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    requests.push(path);
    if (path === '/config.json') {
      response.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
      response.end(JSON.stringify(config));
      return;
    }
    const file = files[path];
    if (!file || request.method !== 'GET') {
      response.writeHead(404, { 'Content-Type': 'text/plain' });
      response.end('not found');
      return;
    }
    readFile(join(spaDir, file)).then(
      (body) => {
        response.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
        response.end(body);
      },
      (error: unknown) => {
        response.writeHead(500, { 'Content-Type': 'text/plain' });
        response.end(String(error));
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((error) => (error ? reject(error) : resolve()));
    }),
  };
}
