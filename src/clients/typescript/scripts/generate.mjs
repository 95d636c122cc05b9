// Generates src/generated.ts from openapi/v1.json with NSwag (nswag.json), then applies the few
// post-processing replacements listed below so that no `any` reaches the package's public types.
// Usage: node scripts/generate.mjs [--input <openapi.json>] [--output <generated.ts>]
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

// Each entry: [what it fixes, exact text NSwag's Fetch template emits, replacement, must it occur?]
// `[key: string]: any` comes from schemas that allow additional properties (and from the response/exception
// header maps); `unknown` keeps them type-safe. The rest are the template's other `any`s that reach a
// declaration file (scripts/check-declarations.mjs fails if a new one appears). `any` inside method bodies stays.
export const replacements = [
  ["index signatures", /\[key: string\]: any;/g, "[key: string]: unknown;", false],
  // Multipart uploads: FormData.append takes a Blob (a File is one) with a file name.
  ["FileParameter.data", "export interface FileParameter {\n    data: any;", "export interface FileParameter {\n    data: Blob;", false],
  // A property whose schema has no type (free-form JSON such as an audit entry's changes; also ApiException.result).
  ["untyped properties", /^( {4}[A-Za-z_$][\w$]*\??): any;$/gm, "$1: unknown;", false],
  ["FileResponse.headers", "headers?: { [name: string]: any };", "headers?: { [name: string]: string };", false],
  [
    "JSON reviver",
    "protected jsonParseReviver: ((key: string, value: any) => any) | undefined = undefined;",
    "protected jsonParseReviver: ((key: string, value: unknown) => unknown) | undefined = undefined;",
    false,
  ],
  [
    "ApiException constructor",
    "headers: { [key: string]: unknown; }, result: any) {",
    "headers: { [key: string]: unknown; }, result: unknown) {",
    true,
  ],
  [
    "ApiException.isApiException",
    "static isApiException(obj: any): obj is ApiException {\n        return obj.isApiException === true;",
    "static isApiException(obj: unknown): obj is ApiException {\n" +
      "        return typeof obj === \"object\" && obj !== null && (obj as { isApiException?: unknown }).isApiException === true;",
    true,
  ],
];

export function postProcess(source) {
  let text = source.replace(/\r\n/g, "\n");
  for (const [name, from, to, required] of replacements) {
    const before = text;
    text = typeof from === "string" ? text.split(from).join(to) : text.replace(from, to);
    if (required && text === before) {
      throw new Error(`post-processing step "${name}" found nothing to replace: did the NSwag template change?`);
    }
  }
  return text;
}

export function generate(input, output) {
  const result = spawnSync(
    "dotnet",
    ["nswag", "run", "nswag.json", `/variables:Input=${resolve(input)},Output=${resolve(output)}`],
    { cwd: packageDir, encoding: "utf8" },
  );
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error(`dotnet nswag run nswag.json failed (exit ${result.status}); run 'dotnet tool restore' at the repository root`);
  }
  writeFileSync(output, postProcess(readFileSync(output, "utf8")));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const option = (name, fallback) => {
    const at = args.indexOf(name);
    return at >= 0 && args[at + 1] ? resolve(args[at + 1]) : fallback;
  };
  const input = option("--input", resolve(packageDir, "openapi/v1.json"));
  const output = option("--output", resolve(packageDir, "src/generated.ts"));
  generate(input, output);
  console.log(`generated ${output} from ${input}`);
}
