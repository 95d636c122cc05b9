// Runs the package's node:test suites through tsx: spec output for people, TAP to a file for the counts.
// With CLEANCRM_COUNTS_FILE set, writes one line `passed=N failed=N skipped=N` to it (scripts/test.sh adds them up).
// Usage: node scripts/run-tests.mjs [test files...]   (default: every test/*.test.ts)
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const files = process.argv.slice(2).length > 0
  ? process.argv.slice(2)
  : readdirSync(join(packageDir, "test")).filter((f) => f.endsWith(".test.ts")).sort().map((f) => join("test", f));

const work = mkdtempSync(join(tmpdir(), "cleancrm-client-tests-"));
const tap = join(work, "results.tap");
const run = spawnSync(
  process.execPath,
  [
    "--import", "tsx",
    "--test",
    "--test-reporter=spec", "--test-reporter-destination=stdout",
    "--test-reporter=tap", `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { cwd: packageDir, stdio: "inherit" },
);

let text = "";
try {
  text = readFileSync(tap, "utf8");
} catch {
  // No TAP file: the runner did not start; counted as one failure below.
}
rmSync(work, { recursive: true, force: true });
const count = (name) => Number((text.match(new RegExp(`^# ${name} (\\d+)$`, "m")) ?? [])[1] ?? 0);
const passed = count("pass");
let failed = count("fail") + count("cancelled");
const skipped = count("skipped") + count("todo");
const exitCode = run.status ?? 1;
if (exitCode !== 0 && failed === 0) failed = 1;
console.log(`client unit tests: passed=${passed} failed=${failed} skipped=${skipped}`);
if (process.env.CLEANCRM_COUNTS_FILE) {
  writeFileSync(process.env.CLEANCRM_COUNTS_FILE, `passed=${passed} failed=${failed} skipped=${skipped}\n`);
}
process.exit(exitCode);
