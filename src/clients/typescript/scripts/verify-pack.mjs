// Proves `npm pack` gives an installable package: packs it, installs the tarball into a fresh temporary project,
// imports it from an .mjs file with node, and type-checks a .ts consumer with tsc (NodeNext resolution, strict).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const work = mkdtempSync(join(tmpdir(), "cleancrm-client-pack-"));
const run = (command, args, cwd) => execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
try {
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", work], packageDir));
  const tarball = join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path).sort();
  console.log(`packed ${packed[0].filename}: ${files.join(", ")}`);
  const unexpected = files.filter((f) => !f.startsWith("dist/") && f !== "README.md" && f !== "package.json");
  if (unexpected.length > 0) throw new Error(`the tarball holds files outside dist/ and README.md: ${unexpected.join(", ")}`);

  const app = join(work, "app");
  execFileSync("mkdir", ["-p", app]);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2));
  run("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], app);

  writeFileSync(
    join(app, "smoke.mjs"),
    [
      'import { createCleanCrmClient, ProblemError, iterate, etagOf } from "@cleancrm/client";',
      'const client = createCleanCrmClient({ baseUrl: "http://127.0.0.1:9", accessToken: () => "t", org: "acme" });',
      'if (typeof client.companies?.list !== "function") throw new Error("no companies client");',
      'if (typeof iterate !== "function" || typeof etagOf !== "function") throw new Error("helpers missing");',
      'if (!(new ProblemError(400, { code: "validation_failed" }) instanceof Error)) throw new Error("ProblemError");',
      'console.log("import ok:", Object.keys(client).sort().join(", "));',
    ].join("\n"),
  );
  process.stdout.write(run(process.execPath, ["smoke.mjs"], app));

  writeFileSync(
    join(app, "consumer.ts"),
    [
      'import { createCleanCrmClient, iterate, ProblemError, type CompanyDto } from "@cleancrm/client";',
      'const client = createCleanCrmClient({ baseUrl: "https://api.example", accessToken: async () => "token", org: "acme" });',
      "export async function names(): Promise<string[]> {",
      "  const result: string[] = [];",
      "  try {",
      "    const first = await client.companies.get(\"0193a5b2-7c1e-7d3a-9f00-000000000001\");",
      "    const company: CompanyDto = first.result;",
      "    result.push(company.name);",
      "    for await (const c of iterate((cursor) => client.companies.list(undefined, 100, cursor))) result.push(c.name);",
      "  } catch (error) {",
      "    if (error instanceof ProblemError && error.code === \"not_found\") return [];",
      "    throw error;",
      "  }",
      "  return result;",
      "}",
    ].join("\n"),
  );
  writeFileSync(
    join(app, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM", "DOM.Iterable"],
        types: [], strict: true, noEmit: true, skipLibCheck: false,
      },
      files: ["consumer.ts"],
    }, null, 2),
  );
  run(process.execPath, [join(packageDir, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], app);
  console.log("types ok: tsc (strict, NodeNext) type-checks a consumer of the installed tarball");
} finally {
  rmSync(work, { recursive: true, force: true });
}
