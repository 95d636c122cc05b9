import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { compareDocuments, type Json } from "../tools/check-breaking.js";

type JsonObject = { [key: string]: Json };

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** A small v1 document in the shape NSwag writes (refs, nullable via oneOf, enums as components). */
function baseline(): JsonObject {
  const problem = { "application/problem+json": { schema: { $ref: "#/components/schemas/ProblemDetails" } } };
  return {
    openapi: "3.0.0",
    info: { title: "CleanCrm API", version: "v1" },
    paths: {
      "/api/v1/companies": {
        get: {
          operationId: "Companies_List",
          parameters: [
            { name: "limit", in: "query", required: false, schema: { type: "integer", format: "int32" } },
            { name: "cursor", in: "query", required: false, schema: { type: "string", nullable: true } },
          ],
          responses: {
            "200": { description: "A page", content: { "application/json": { schema: { $ref: "#/components/schemas/CompanyPage" } } } },
            "400": { description: "Bad request", content: problem },
          },
        },
        post: {
          operationId: "Companies_Create",
          requestBody: {
            required: true,
            content: { "application/json": { schema: { $ref: "#/components/schemas/CreateCompanyRequest" } } },
          },
          responses: {
            "201": { description: "Created", content: { "application/json": { schema: { $ref: "#/components/schemas/Company" } } } },
          },
        },
      },
      "/api/v1/companies/{id}": {
        get: {
          operationId: "Companies_Get",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
          responses: {
            "200": { description: "OK", content: { "application/json": { schema: { $ref: "#/components/schemas/Company" } } } },
          },
        },
      },
      "/api/v1/deals/{id}/move": {
        post: {
          operationId: "Deals_Move",
          parameters: [{ name: "id", in: "path", required: true, schema: { type: "string", format: "uuid" } }],
          requestBody: { required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/MoveDealRequest" } } } },
          responses: {
            "200": { description: "OK", content: { "application/json": { schema: { $ref: "#/components/schemas/Deal" } } } },
          },
        },
      },
    },
    components: {
      schemas: {
        ProblemDetails: {
          type: "object",
          properties: { type: { type: "string" }, code: { type: "string" }, status: { type: "integer" } },
        },
        Company: {
          type: "object",
          additionalProperties: false,
          required: ["id", "name", "address"],
          properties: {
            id: { type: "string", format: "uuid" },
            name: { type: "string" },
            employeeCount: { type: "integer", format: "int32", nullable: true },
            address: { nullable: true, oneOf: [{ $ref: "#/components/schemas/Address" }] },
          },
        },
        Address: { type: "object", properties: { city: { type: "string" }, country: { type: "string" } } },
        CompanyPage: {
          type: "object",
          required: ["items", "nextCursor"],
          properties: {
            items: { type: "array", items: { $ref: "#/components/schemas/Company" } },
            nextCursor: { type: "string", nullable: true },
          },
        },
        CreateCompanyRequest: {
          type: "object",
          required: ["name"],
          properties: { name: { type: "string" }, domain: { type: "string", nullable: true } },
        },
        DealStatus: { type: "string", enum: ["open", "won", "lost"] },
        Deal: {
          type: "object",
          required: ["id", "status"],
          properties: { id: { type: "string", format: "uuid" }, status: { $ref: "#/components/schemas/DealStatus" } },
        },
        MoveDealRequest: {
          type: "object",
          required: ["stageId"],
          properties: {
            stageId: { type: "string", format: "uuid" },
            status: { type: "string", nullable: true, oneOf: [{ $ref: "#/components/schemas/DealStatus" }] },
          },
        },
      },
    },
  };
}

/** The baseline, changed by `edit` (a deep copy, so every test starts from the same snapshot). */
function changed(edit: (doc: JsonObject) => void): JsonObject {
  const doc = structuredClone(baseline());
  edit(doc);
  return doc;
}

// Typed accessors into the fixture: a missing key is a broken fixture, so fail loudly.
function at(doc: Json, ...keys: string[]): JsonObject {
  let current: Json = doc;
  for (const key of keys) {
    if (typeof current !== "object" || current === null || Array.isArray(current) || !(key in current)) {
      throw new Error(`fixture has no ${keys.join("/")}`);
    }
    current = current[key] as Json;
  }
  if (typeof current !== "object" || current === null || Array.isArray(current)) throw new Error(`${keys.join("/")} is not an object`);
  return current;
}

const schema = (doc: JsonObject, name: string) => at(doc, "components", "schemas", name);

function messages(current: JsonObject): string[] {
  return compareDocuments(baseline(), current).map((f) => f.message);
}

describe("breaking-change check", () => {
  test("the same document has no breaking changes", () => {
    assert.deepEqual(messages(baseline()), []);
  });

  test("a removed operation is named with its method, path and operation id", () => {
    const current = changed((doc) => {
      delete at(doc, "paths", "/api/v1/companies/{id}").get;
    });
    assert.deepEqual(messages(current), [
      "removed operation: GET /api/v1/companies/{id} at #/paths/~1api~1v1~1companies~1{id}/get (Companies_Get)",
    ]);
  });

  test("renaming a path parameter is not a removed operation", () => {
    const current = changed((doc) => {
      const paths = at(doc, "paths");
      paths["/api/v1/companies/{companyId}"] = paths["/api/v1/companies/{id}"] as Json;
      delete paths["/api/v1/companies/{id}"];
    });
    assert.deepEqual(messages(current), []);
  });

  test("a removed response field is named with its schema, path and every operation returning it", () => {
    const current = changed((doc) => {
      delete at(schema(doc, "Company"), "properties").employeeCount;
    });
    assert.deepEqual(messages(current), [
      'removed response field: 200 response field "items[].employeeCount" of Company at ' +
        "#/components/schemas/Company/properties/employeeCount (Companies_List)",
      'removed response field: 201 response field "employeeCount" of Company at #/components/schemas/Company/properties/employeeCount (Companies_Create)',
      'removed response field: 200 response field "employeeCount" of Company at #/components/schemas/Company/properties/employeeCount (Companies_Get)',
    ]);
  });

  test("a nested field removed behind a nullable reference is found", () => {
    const current = changed((doc) => {
      delete at(schema(doc, "Address"), "properties").country;
    });
    assert.deepEqual(messages(current), [
      'removed response field: 200 response field "items[].address.country" of Address at ' +
        "#/components/schemas/Address/properties/country (Companies_List)",
      'removed response field: 201 response field "address.country" of Address at #/components/schemas/Address/properties/country (Companies_Create)',
      'removed response field: 200 response field "address.country" of Address at #/components/schemas/Address/properties/country (Companies_Get)',
    ]);
  });

  test("a retyped response field says the old and new type", () => {
    const current = changed((doc) => {
      at(schema(doc, "Company"), "properties").employeeCount = { type: "string", nullable: true };
    });
    assert.deepEqual(messages(current), [
      'retyped response field: 200 response field "items[].employeeCount" changed type integer → string at ' +
        "#/components/schemas/Company/properties/employeeCount (Companies_List)",
      'retyped response field: 201 response field "employeeCount" changed type integer → string at ' +
        "#/components/schemas/Company/properties/employeeCount (Companies_Create)",
      'retyped response field: 200 response field "employeeCount" changed type integer → string at ' +
        "#/components/schemas/Company/properties/employeeCount (Companies_Get)",
    ]);
  });

  test("a response field that becomes nullable or optional is retyped", () => {
    const current = changed((doc) => {
      at(schema(doc, "Deal"), "properties").id = { type: "string", format: "uuid", nullable: true };
      schema(doc, "Deal").required = ["id"];
    });
    assert.deepEqual(messages(current), [
      'retyped response field: 200 response field "id" became nullable at #/components/schemas/Deal/properties/id (Deals_Move)',
      'retyped response field: 200 response field "status" of Deal is no longer required at #/components/schemas/Deal/properties/status (Deals_Move)',
    ]);
  });

  test("a new required body field is named with its schema", () => {
    const current = changed((doc) => {
      const create = schema(doc, "CreateCompanyRequest");
      at(create, "properties").industry = { type: "string" };
      create.required = ["name", "industry"];
    });
    assert.deepEqual(messages(current), [
      'new required request field: request body field "industry" of CreateCompanyRequest at ' +
        "#/components/schemas/CreateCompanyRequest/properties/industry (Companies_Create)",
    ]);
  });

  test("an optional body field made required is a new required request field", () => {
    const current = changed((doc) => {
      schema(doc, "CreateCompanyRequest").required = ["name", "domain"];
    });
    assert.deepEqual(messages(current), [
      'new required request field: request body field "domain" of CreateCompanyRequest at ' +
        "#/components/schemas/CreateCompanyRequest/properties/domain (Companies_Create)",
    ]);
  });

  test("a new required query parameter is named with its place in the document", () => {
    const current = changed((doc) => {
      const list = at(doc, "paths", "/api/v1/companies", "get");
      (list.parameters as Json[]).push({ name: "ownerId", in: "query", required: true, schema: { type: "string" } });
    });
    assert.deepEqual(messages(current), [
      'new required request field: query parameter "ownerId" at #/paths/~1api~1v1~1companies/get/parameters/2 (Companies_List)',
    ]);
  });

  test("a value removed from an enum is a narrowed enum, once per operation using it", () => {
    const current = changed((doc) => {
      schema(doc, "DealStatus").enum = ["open", "won"];
    });
    assert.deepEqual(messages(current), [
      'narrowed enum: request body field "status" (DealStatus) lost "lost" at #/components/schemas/DealStatus/enum (Deals_Move)',
      'narrowed enum: 200 response field "status" (DealStatus) lost "lost" at #/components/schemas/DealStatus/enum (Deals_Move)',
    ]);
  });

  test("compatible changes pass: an added optional field, an added operation, a widened enum", () => {
    const current = changed((doc) => {
      at(schema(doc, "CreateCompanyRequest"), "properties").industry = { type: "string", nullable: true };
      at(schema(doc, "Company"), "properties").industry = { type: "string", nullable: true };
      schema(doc, "DealStatus").enum = ["open", "won", "lost", "abandoned"];
      at(doc, "paths")["/api/v1/tags"] = {
        get: { operationId: "Tags_List", responses: { "200": { description: "OK" } } },
      };
      at(doc, "paths", "/api/v1/companies/{id}").delete = { operationId: "Companies_Delete", responses: { "204": { description: "Deleted" } } };
    });
    assert.deepEqual(messages(current), []);
  });
});

describe("breaking-change check command", () => {
  const work = mkdtempSync(join(tmpdir(), "cleancrm-breaking-"));
  after(() => rmSync(work, { recursive: true, force: true }));
  const write = (name: string, doc: JsonObject) => {
    const path = join(work, name);
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
    return path;
  };
  const run = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "tools/check-breaking.ts", ...args], { cwd: packageDir, encoding: "utf8" });

  test("exits 0 with 'no breaking changes' for a compatible document", () => {
    const snapshot = write("snapshot.json", baseline());
    const current = write("compatible.json", changed((doc) => {
      schema(doc, "DealStatus").enum = ["open", "won", "lost", "abandoned"];
    }));
    const result = run("--current", current, "--snapshot", snapshot);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^breaking-change check: no breaking changes \(/);
  });

  test("exits 1 naming the change for a deliberately broken copy", () => {
    const snapshot = write("snapshot.json", baseline());
    const current = write("broken.json", changed((doc) => {
      delete at(doc, "paths", "/api/v1/deals/{id}/move").post;
    }));
    const result = run("--current", current, "--snapshot", snapshot);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /1 breaking change\(s\) in /);
    assert.ok(
      result.stderr.includes("  removed operation: POST /api/v1/deals/{id}/move at #/paths/~1api~1v1~1deals~1{id}~1move/post (Deals_Move)\n"),
      result.stderr,
    );
    assert.match(result.stderr, /update the snapshot in the same commit \(`npm run snapshot`\)/);
  });

  test("fails with how to create the snapshot when there is none", () => {
    const current = write("current.json", baseline());
    const missing = join(work, "v1.snapshot.json");
    assert.equal(existsSync(missing), false);
    const result = run("--current", current, "--snapshot", missing);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /v1\.snapshot\.json is missing\. .*create it from the current document with `npm run snapshot`/);
  });
});

describe("breaking-change check on the committed document", () => {
  const committed = JSON.parse(readFileSync(join(packageDir, "openapi/v1.json"), "utf8")) as JsonObject;
  const escape = (segment: string) => segment.replace(/~/g, "~0").replace(/\//g, "~1");

  /** Where the committed document has the operation, and the component its 200 response refers to. */
  function find(operationId: string): { path: string; method: string; responseSchema: string } {
    for (const [path, item] of Object.entries(at(committed, "paths"))) {
      for (const [method, operation] of Object.entries(at(item))) {
        if (at(operation).operationId !== operationId) continue;
        const ref = at(operation, "responses", "200", "content", "application/json", "schema").$ref;
        assert.equal(typeof ref, "string", `${operationId}: 200 has no $ref schema`);
        return { path, method, responseSchema: String(ref).replace("#/components/schemas/", "") };
      }
    }
    throw new Error(`the committed document has no ${operationId}`);
  }

  test("has no breaking changes against itself", () => {
    assert.deepEqual(compareDocuments(committed, structuredClone(committed)), []);
  });

  test("a deliberately broken copy is caught, naming each change", () => {
    const get = find("Companies_Get");
    const broken = structuredClone(committed);
    delete at(broken, "paths", get.path)[get.method];
    delete at(broken, "components", "schemas", get.responseSchema, "properties").name;
    const found = compareDocuments(committed, broken).map((f) => f.message);
    assert.ok(
      found.includes(`removed operation: GET ${get.path} at #/paths/${escape(get.path)}/get (Companies_Get)`),
      found.join("\n"),
    );
    assert.ok(
      found.some((m) =>
        m.startsWith(`removed response field: 201 response field "name" of ${get.responseSchema} at ` +
          `#/components/schemas/${get.responseSchema}/properties/name (Companies_Create`),
      ),
      found.join("\n"),
    );
  });
});
