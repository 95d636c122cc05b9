// Drift check: regenerates the client from the committed openapi/v1.json into a temporary folder and fails,
// naming the file, when it differs from the committed src/generated.ts.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "./generate.mjs";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const committed = join(packageDir, "src/generated.ts");
const shown = "src/clients/typescript/src/generated.ts";
const work = mkdtempSync(join(tmpdir(), "cleancrm-client-drift-"));
try {
  const fresh = join(work, "generated.ts");
  generate(join(packageDir, "openapi/v1.json"), fresh);
  const expected = readFileSync(fresh, "utf8");
  let actual = "";
  try {
    actual = readFileSync(committed, "utf8");
  } catch {
    console.error(`client drift: ${shown} is missing; run \`npm run generate\` in src/clients/typescript and commit it`);
    process.exit(1);
  }
  if (actual !== expected) {
    const a = actual.split("\n");
    const e = expected.split("\n");
    let line = 0;
    while (line < Math.max(a.length, e.length) && a[line] === e[line]) line++;
    console.error(`client drift: ${shown} differs from what nswag.json generates from openapi/v1.json (first difference at line ${line + 1})`);
    console.error(`  committed: ${a[line] ?? "<end of file>"}`);
    console.error(`  generated: ${e[line] ?? "<end of file>"}`);
    console.error("Run `npm run generate` in src/clients/typescript and commit src/generated.ts.");
    process.exit(1);
  }
  console.log(`client drift: ${shown} matches openapi/v1.json`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
