// Records the current document as the last released v1: copies openapi/v1.json to openapi/v1.snapshot.json.
// Run it when a v1 release is cut (or with a deliberate, reviewed contract change) and commit both files together.
import { copyFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const dir = join(resolve(dirname(fileURLToPath(import.meta.url)), ".."), "openapi");
copyFileSync(join(dir, "v1.json"), join(dir, "v1.snapshot.json"));
console.log("openapi/v1.snapshot.json <- openapi/v1.json");
