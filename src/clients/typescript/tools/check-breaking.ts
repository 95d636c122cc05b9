// Breaking-change check of the v1 OpenAPI document against the snapshot of the last released v1.
//
// Usage: tsx tools/check-breaking.ts [--current openapi/v1.json] [--snapshot openapi/v1.snapshot.json]
// Exit 0 and "no breaking changes" when the current document only adds; exit 1 with one line per change otherwise;
// exit 2 when a file is missing or unreadable.
//
// Breaking, for a client generated from the snapshot:
// - removed operation: a method + path of the snapshot is gone (path parameter names do not matter);
// - removed response field / retyped response field: a property a response schema had is gone, changed its type,
//   became nullable, or stopped being required (walks $ref, properties, items, allOf, additionalProperties);
// - new required request field: a request-body property (at any depth) or a parameter that the snapshot did not
//   require is now required, or a body became required;
// - narrowed enum: a value was removed from an enum anywhere (request or response side). Request side: old clients
//   send it. Response side: TypeScript clients comparing with the removed literal stop compiling.
// Adding operations, optional fields, response fields and enum values is compatible.
import { existsSync, readFileSync } from "node:fs";
import { dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Finding {
  rule: "removed operation" | "removed response field" | "retyped response field" | "new required request field" | "narrowed enum";
  message: string;
}

const methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"] as const;

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function child(value: Json | undefined, key: string): Json | undefined {
  return isObject(value) ? value[key] : undefined;
}

function pointerEscape(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function pointerUnescape(segment: string): string {
  return segment.replace(/~1/g, "/").replace(/~0/g, "~");
}

/** A schema node together with where it lives in its document (a JSON pointer) and the nearest named schema. */
interface Node {
  schema: JsonObject;
  pointer: string;
  name: string | undefined;
  nullable: boolean;
}

class Doc {
  constructor(readonly root: JsonObject) {}

  resolvePointer(ref: string): Json | undefined {
    if (!ref.startsWith("#/")) return undefined;
    let current: Json | undefined = this.root;
    for (const segment of ref.slice(2).split("/")) current = child(current, pointerUnescape(segment));
    return current;
  }

  /** Follows $ref and single-member allOf/oneOf/anyOf wrappers (NSwag's way of writing a nullable reference). */
  node(schema: Json | undefined, pointer: string, name: string | undefined, nullable = false): Node | undefined {
    let current = schema;
    let where = pointer;
    let named = name;
    let isNullable = nullable;
    for (let depth = 0; depth < 32 && isObject(current); depth++) {
      if (current.nullable === true) isNullable = true;
      const ref = current.$ref;
      if (typeof ref === "string") {
        where = ref;
        named = ref.startsWith("#/components/schemas/") ? pointerUnescape(ref.slice("#/components/schemas/".length)) : named;
        current = this.resolvePointer(ref);
        continue;
      }
      const object: JsonObject = current;
      const wrapper = (["allOf", "oneOf", "anyOf"] as const).find((k) => {
        const members = object[k];
        return Array.isArray(members) && members.length === 1;
      });
      // NSwag writes a nullable enum reference as { type, nullable, oneOf: [{ $ref }] }: unwrap it all the same.
      const hasOwnShape = object.properties !== undefined || object.items !== undefined;
      if (wrapper && !hasOwnShape) {
        where = `${where}/${wrapper}/0`;
        current = (object[wrapper] as Json[])[0];
        continue;
      }
      return { schema: object, pointer: where, name: named, nullable: isNullable };
    }
    return undefined;
  }

  /** The properties and required names of an object node, allOf members merged in. */
  shape(node: Node): { properties: Map<string, { schema: Json; pointer: string; name: string | undefined }>; required: Set<string> } {
    const properties = new Map<string, { schema: Json; pointer: string; name: string | undefined }>();
    const required = new Set<string>();
    const visit = (n: Node, depth: number) => {
      if (depth > 16) return;
      const props = n.schema.properties;
      if (isObject(props)) {
        for (const [key, value] of Object.entries(props)) {
          properties.set(key, { schema: value, pointer: `${n.pointer}/properties/${pointerEscape(key)}`, name: n.name });
        }
      }
      const req = n.schema.required;
      if (Array.isArray(req)) for (const r of req) if (typeof r === "string") required.add(r);
      const allOf = n.schema.allOf;
      if (Array.isArray(allOf)) {
        allOf.forEach((member, i) => {
          const resolved = this.node(member, `${n.pointer}/allOf/${i}`, n.name);
          if (resolved) visit(resolved, depth + 1);
        });
      }
    };
    visit(node, 0);
    return { properties, required };
  }
}

function typeOf(node: Node): string {
  const type = node.schema.type;
  if (typeof type === "string") return type;
  if (Array.isArray(type)) {
    const types = type.filter((t): t is string => typeof t === "string" && t !== "null");
    if (types.length === 1 && types[0] !== undefined) return types[0];
    if (types.length > 1) return types.sort().join("|");
  }
  if (node.schema.properties !== undefined || node.schema.allOf !== undefined || node.schema.additionalProperties !== undefined) return "object";
  if (node.schema.items !== undefined) return "array";
  return "any";
}

function isNullable(node: Node): boolean {
  const type = node.schema.type;
  return node.nullable || (Array.isArray(type) && type.includes("null"));
}

function enumValues(node: Node): Json[] | undefined {
  const values = node.schema.enum;
  return Array.isArray(values) ? values : undefined;
}

interface Operation {
  method: string;
  path: string;
  key: string;
  pointer: string;
  id: string;
  operation: JsonObject;
  pathItem: JsonObject;
}

function operationsOf(doc: Doc): Map<string, Operation> {
  const result = new Map<string, Operation>();
  const paths = doc.root.paths;
  if (!isObject(paths)) return result;
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of methods) {
      const operation = item[method];
      if (!isObject(operation)) continue;
      const key = `${method.toUpperCase()} ${path.replace(/\{[^}]*\}/g, "{}")}`;
      const id = typeof operation.operationId === "string" ? operation.operationId : `${method.toUpperCase()} ${path}`;
      result.set(key, { method: method.toUpperCase(), path, key, pointer: `#/paths/${pointerEscape(path)}/${method}`, id, operation, pathItem: item });
    }
  }
  return result;
}

/** Collects findings; the same change reached from several operations is reported once, naming them. */
class Report {
  private readonly entries = new Map<string, { rule: Finding["rule"]; text: string; pointer: string; operations: string[] }>();

  add(rule: Finding["rule"], text: string, pointer: string, operation: string): void {
    const key = `${rule}|${text}|${pointer}`;
    const entry = this.entries.get(key);
    if (entry) {
      if (!entry.operations.includes(operation)) entry.operations.push(operation);
    } else {
      this.entries.set(key, { rule, text, pointer, operations: [operation] });
    }
  }

  findings(): Finding[] {
    return [...this.entries.values()].map(({ rule, text, pointer, operations }) => {
      const shown = operations.slice(0, 3).join(", ");
      const more = operations.length > 3 ? ` and ${operations.length - 3} more` : "";
      return { rule, message: `${rule}: ${text} at ${pointer} (${shown}${more})` };
    });
  }
}

function fieldLabel(field: string, name: string | undefined): string {
  return name ? `"${field}" of ${name}` : `"${field}"`;
}

function compareEnums(report: Report, before: Node, after: Node, where: string, operation: string): void {
  const oldValues = enumValues(before);
  const newValues = enumValues(after);
  if (!oldValues || !newValues) return;
  const kept = new Set(newValues.map((v) => JSON.stringify(v)));
  const removed = oldValues.filter((v) => !kept.has(JSON.stringify(v)));
  if (removed.length > 0) {
    const label = after.name ? `${where} (${after.name})` : where;
    report.add("narrowed enum", `${label} lost ${removed.map((v) => JSON.stringify(v)).join(", ")}`, `${after.pointer}/enum`, operation);
  }
}

/** Response side: every field the snapshot promised must still be there, with the same type. */
function compareResponse(
  report: Report,
  oldDoc: Doc,
  newDoc: Doc,
  before: Node,
  after: Node,
  field: string,
  where: string,
  operation: string,
  seen: Set<string>,
): void {
  const visitKey = `${before.pointer}|${after.pointer}`;
  if (seen.has(visitKey)) return;
  seen.add(visitKey);
  const fieldText = (f: string) => `${where} field ${fieldLabel(f, after.name)}`;
  compareEnums(report, before, after, field ? `${where} field "${field}"` : where, operation);
  const oldType = typeOf(before);
  const newType = typeOf(after);
  if (oldType !== "any" && oldType !== newType) {
    report.add("retyped response field", `${where}${field ? ` field "${field}"` : ""} changed type ${oldType} → ${newType}`, after.pointer, operation);
    return;
  }
  if (!isNullable(before) && isNullable(after)) {
    report.add("retyped response field", `${where}${field ? ` field "${field}"` : ""} became nullable`, after.pointer, operation);
  }
  if (newType === "array") {
    const oldItems = oldDoc.node(before.schema.items, `${before.pointer}/items`, before.name);
    const newItems = newDoc.node(after.schema.items, `${after.pointer}/items`, after.name);
    if (oldItems && newItems) compareResponse(report, oldDoc, newDoc, oldItems, newItems, `${field}[]`, where, operation, seen);
    return;
  }
  if (newType !== "object") return;
  const oldShape = oldDoc.shape(before);
  const newShape = newDoc.shape(after);
  for (const [name, oldProp] of oldShape.properties) {
    const path = field ? `${field}.${name}` : name;
    const newProp = newShape.properties.get(name);
    if (!newProp) {
      report.add("removed response field", `${where} field ${fieldLabel(path, oldProp.name)}`, oldProp.pointer, operation);
      continue;
    }
    if (oldShape.required.has(name) && !newShape.required.has(name)) {
      report.add("retyped response field", `${fieldText(path)} is no longer required`, newProp.pointer, operation);
    }
    const oldChild = oldDoc.node(oldProp.schema, oldProp.pointer, oldProp.name);
    const newChild = newDoc.node(newProp.schema, newProp.pointer, newProp.name);
    if (oldChild && newChild) compareResponse(report, oldDoc, newDoc, oldChild, newChild, path, where, operation, seen);
  }
  const oldExtra = before.schema.additionalProperties;
  const newExtra = after.schema.additionalProperties;
  if (isObject(oldExtra) && isObject(newExtra)) {
    const oldChild = oldDoc.node(oldExtra, `${before.pointer}/additionalProperties`, before.name);
    const newChild = newDoc.node(newExtra, `${after.pointer}/additionalProperties`, after.name);
    if (oldChild && newChild) compareResponse(report, oldDoc, newDoc, oldChild, newChild, `${field}{}`, where, operation, seen);
  }
}

/** Request side: nothing a snapshot client could leave out may become required, and no enum value it sends may go. */
function compareRequest(
  report: Report,
  oldDoc: Doc,
  newDoc: Doc,
  before: Node,
  after: Node,
  field: string,
  where: string,
  operation: string,
  seen: Set<string>,
): void {
  const visitKey = `${before.pointer}|${after.pointer}`;
  if (seen.has(visitKey)) return;
  seen.add(visitKey);
  compareEnums(report, before, after, field ? `${where} field "${field}"` : where, operation);
  const type = typeOf(after);
  if (type === "array") {
    const oldItems = oldDoc.node(before.schema.items, `${before.pointer}/items`, before.name);
    const newItems = newDoc.node(after.schema.items, `${after.pointer}/items`, after.name);
    if (oldItems && newItems) compareRequest(report, oldDoc, newDoc, oldItems, newItems, `${field}[]`, where, operation, seen);
    return;
  }
  if (type !== "object") return;
  const oldShape = oldDoc.shape(before);
  const newShape = newDoc.shape(after);
  for (const name of newShape.required) {
    if (!oldShape.required.has(name)) {
      const prop = newShape.properties.get(name);
      const path = field ? `${field}.${name}` : name;
      report.add(
        "new required request field",
        `${where} field ${fieldLabel(path, prop?.name ?? after.name)}`,
        prop?.pointer ?? `${after.pointer}/required`,
        operation,
      );
    }
  }
  for (const [name, newProp] of newShape.properties) {
    const oldProp = oldShape.properties.get(name);
    if (!oldProp) continue;
    const oldChild = oldDoc.node(oldProp.schema, oldProp.pointer, oldProp.name);
    const newChild = newDoc.node(newProp.schema, newProp.pointer, newProp.name);
    const path = field ? `${field}.${name}` : name;
    if (oldChild && newChild) compareRequest(report, oldDoc, newDoc, oldChild, newChild, path, where, operation, seen);
  }
}

interface Parameter {
  name: string;
  in: string;
  required: boolean;
  schema: Json | undefined;
  pointer: string;
}

function parametersOf(doc: Doc, op: Operation): Map<string, Parameter> {
  const result = new Map<string, Parameter>();
  const add = (list: Json | undefined, base: string) => {
    if (!Array.isArray(list)) return;
    list.forEach((raw, i) => {
      let pointer = `${base}/parameters/${i}`;
      let param: Json | undefined = raw;
      const ref = child(raw, "$ref");
      if (typeof ref === "string") {
        pointer = ref;
        param = doc.resolvePointer(ref);
      }
      if (!isObject(param) || typeof param.name !== "string" || typeof param.in !== "string") return;
      const key = `${param.in}:${param.in === "header" ? param.name.toLowerCase() : param.name}`;
      result.set(key, { name: param.name, in: param.in, required: param.required === true, schema: param.schema, pointer });
    });
  };
  add(op.pathItem.parameters, `#/paths/${pointerEscape(op.path)}`);
  add(op.operation.parameters, op.pointer);
  return result;
}

function mediaTypes(content: Json | undefined): Map<string, Json> {
  return new Map(isObject(content) ? Object.entries(content) : []);
}

export function compareDocuments(snapshot: JsonObject, current: JsonObject): Finding[] {
  const oldDoc = new Doc(snapshot);
  const newDoc = new Doc(current);
  const report = new Report();
  const oldOps = operationsOf(oldDoc);
  const newOps = operationsOf(newDoc);

  for (const [key, oldOp] of oldOps) {
    const newOp = newOps.get(key);
    if (!newOp) {
      report.add("removed operation", `${oldOp.method} ${oldOp.path}`, oldOp.pointer, oldOp.id);
      continue;
    }
    const label = newOp.id;
    // Request and response walks keep separate visited sets: a shared schema is checked on both sides.
    const seen = new Set<string>();
    const seenResponse = new Set<string>();

    // Parameters.
    const oldParams = parametersOf(oldDoc, oldOp);
    for (const [paramKey, param] of parametersOf(newDoc, newOp)) {
      const before = oldParams.get(paramKey);
      if (param.required && param.in !== "path" && !before?.required) {
        report.add("new required request field", `${param.in} parameter "${param.name}"`, param.pointer, label);
      }
      if (before) {
        const oldNode = oldDoc.node(before.schema, `${before.pointer}/schema`, undefined);
        const newNode = newDoc.node(param.schema, `${param.pointer}/schema`, undefined);
        if (oldNode && newNode) compareRequest(report, oldDoc, newDoc, oldNode, newNode, "", `${param.in} parameter "${param.name}"`, label, seen);
      }
    }

    // Request body.
    const oldBody = oldDoc.node(oldOp.operation.requestBody, `${oldOp.pointer}/requestBody`, undefined)?.schema;
    const newBodyNode = newDoc.node(newOp.operation.requestBody, `${newOp.pointer}/requestBody`, undefined);
    const newBody = newBodyNode?.schema;
    if (newBody && newBody.required === true && oldBody?.required !== true) {
      report.add("new required request field", "request body", newBodyNode.pointer, label);
    }
    if (oldBody && newBody && newBodyNode) {
      const oldContent = mediaTypes(oldBody.content);
      for (const [mediaType, media] of mediaTypes(newBody.content)) {
        const oldType = oldContent.has(mediaType) ? mediaType : oldContent.keys().next().value;
        if (oldType === undefined) continue;
        const oldPointer = `${oldOp.pointer}/requestBody/content/${pointerEscape(oldType)}/schema`;
        const oldNode = oldDoc.node(child(oldContent.get(oldType), "schema"), oldPointer, undefined);
        const newNode = newDoc.node(child(media, "schema"), `${newBodyNode.pointer}/content/${pointerEscape(mediaType)}/schema`, undefined);
        if (oldNode && newNode) compareRequest(report, oldDoc, newDoc, oldNode, newNode, "", "request body", label, seen);
      }
    }

    // Responses.
    const oldResponses = oldOp.operation.responses;
    const newResponses = newOp.operation.responses;
    if (!isObject(oldResponses) || !isObject(newResponses)) continue;
    for (const [status, oldResponseRaw] of Object.entries(oldResponses)) {
      const oldResponse = oldDoc.node(oldResponseRaw, `${oldOp.pointer}/responses/${status}`, undefined)?.schema;
      const newResponseNode = newDoc.node(newResponses[status], `${newOp.pointer}/responses/${status}`, undefined);
      if (!oldResponse || !newResponseNode) continue;
      const newContent = mediaTypes(newResponseNode.schema.content);
      for (const [mediaType, media] of mediaTypes(oldResponse.content)) {
        // A media type renamed (application/json → application/problem+json) keeps the body: compare with the new one.
        const newType = newContent.has(mediaType) ? mediaType : newContent.keys().next().value;
        const newMedia = newType === undefined ? undefined : newContent.get(newType);
        const oldNode = oldDoc.node(child(media, "schema"), `${oldOp.pointer}/responses/${status}/content/${pointerEscape(mediaType)}/schema`, undefined);
        const newNode = newDoc.node(
          child(newMedia, "schema"),
          `${newResponseNode.pointer}/content/${pointerEscape(newType ?? mediaType)}/schema`,
          undefined,
        );
        if (!oldNode) continue;
        if (!newNode) {
          report.add("removed response field", `${status} ${mediaType} body`, `${oldOp.pointer}/responses/${status}/content/${pointerEscape(mediaType)}`, label);
          continue;
        }
        compareResponse(report, oldDoc, newDoc, oldNode, newNode, "", `${status} response`, label, seenResponse);
      }
    }
  }
  return report.findings();
}

function readJson(path: string): JsonObject {
  const parsed = JSON.parse(readFileSync(path, "utf8")) as Json;
  if (!isObject(parsed)) throw new Error(`${path} is not a JSON object`);
  return parsed;
}

export function main(argv: string[]): number {
  const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const option = (name: string, fallback: string) => {
    const at = argv.indexOf(name);
    const value = at >= 0 ? argv[at + 1] : undefined;
    return value ? resolve(value) : resolve(packageDir, fallback);
  };
  const currentPath = option("--current", "openapi/v1.json");
  const snapshotPath = option("--snapshot", "openapi/v1.snapshot.json");
  const shown = (path: string) => {
    const near = relative(process.cwd(), path);
    return near && !near.startsWith("..") ? near : path;
  };
  if (!existsSync(currentPath)) {
    console.error(`breaking-change check: ${shown(currentPath)} is missing (generate the OpenAPI document first)`);
    return 2;
  }
  if (!existsSync(snapshotPath)) {
    console.error(
      `breaking-change check: ${shown(snapshotPath)} is missing. It is the snapshot of the last released v1; create it ` +
        "from the current document with `npm run snapshot` (in src/clients/typescript; it copies openapi/v1.json) and commit it.",
    );
    return 2;
  }
  let findings: Finding[];
  try {
    findings = compareDocuments(readJson(snapshotPath), readJson(currentPath));
  } catch (error) {
    console.error(`breaking-change check: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  if (findings.length === 0) {
    console.log(`breaking-change check: no breaking changes (${shown(currentPath)} against ${shown(snapshotPath)})`);
    return 0;
  }
  console.error(`breaking-change check: ${findings.length} breaking change(s) in ${shown(currentPath)} against ${shown(snapshotPath)}:`);
  for (const finding of findings) console.error(`  ${finding.message}`);
  console.error(
    "A v1 client generated from the snapshot would break. Make the change additive, or, if this is a deliberate release " +
      "of the new contract, update the snapshot in the same commit (`npm run snapshot`).",
  );
  return 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
