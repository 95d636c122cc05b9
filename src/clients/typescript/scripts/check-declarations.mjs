// Builds the package's declarations into a temporary folder and fails when `any` appears in any of them:
// the public types must not leak `any` (the generated code's internal `any`s stay inside method bodies).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "cleancrm-client-dts-"));
try {
  const tsc = spawnSync(
    process.execPath,
    [join(packageDir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json", "--emitDeclarationOnly", "--outDir", work],
    { cwd: packageDir, stdio: "inherit" },
  );
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
  const leaks = [];
  for (const file of readdirSync(work).filter((f) => f.endsWith(".d.ts"))) {
    readFileSync(join(work, file), "utf8").split("\n").forEach((text, i) => {
      const code = text.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "");
      if (/\bany\b/.test(code)) leaks.push(`${file}:${i + 1}: ${text.trim()}`);
    });
  }
  if (leaks.length > 0) {
    console.error(`public types: ${leaks.length} declaration line(s) with \`any\`:`);
    for (const leak of leaks) console.error(`  ${leak}`);
    process.exit(1);
  }
  console.log("public types: no `any` in the declarations");
} finally {
  rmSync(work, { recursive: true, force: true });
}
