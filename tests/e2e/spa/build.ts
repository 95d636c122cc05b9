// Bundles the SPA page (spa/app.ts with @cleancrm/client and oidc-client-ts) for the browser, as an SPA team would.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

export async function buildSpa(): Promise<string> {
  const outfile = fileURLToPath(new URL('./dist/app.js', import.meta.url));
  await build({
    entryPoints: [fileURLToPath(new URL('./app.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    outfile,
    logLevel: 'warning',
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildSpa();
}
