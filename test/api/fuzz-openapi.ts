import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import fc from "fast-check";

/** The parts of an OpenAPI 3.1 document the fuzzer reads. */
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, JsonSchema> };
}
export interface Operation {
  parameters?: { name: string; in: string; required?: boolean; schema?: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, { content?: Record<string, { schema?: JsonSchema }> }>;
}
export type JsonSchema = Record<string, unknown>;

/** Strings PostgreSQL or a naive handler chokes on, mixed into every string the fuzzer sends. */
export const hostileStrings = [
  "nul\u0000byte",
  "\u0000",
  "a\ud800b",
  "\udfff",
  "lone high at end \ud83d",
  "%00",
  "%ff",
  "%E2%98%83%00",
  "x".repeat(2100),
  "' or 1=1 --",
  "😀",
  "",
];
const hostileInstants = [
  "0000-01-01T00:00:00Z",
  "0001-01-01T00:00:00+01:00",
  "9999-12-31T23:59:59Z",
  "9999-12-31T23:59:59-01:00",
  "2026-02-30T00:00:00Z",
  "2026-11-22T09:30:00Z",
];

const hostileString = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...hostileStrings) },
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 20 }) },
);

/** Arbitraries for values of a JSON schema: mostly the right shape (so requests get past parsing and reach
 * the services and the database), with hostile strings, edge instants and the odd wrong type or extra field. */
export function schemaArbitrary(
  doc: OpenApiDoc,
  schema: JsonSchema | undefined,
  depth = 0,
): fc.Arbitrary<unknown> {
  if (!schema || depth > 5) return fc.constant(null);
  const ref = schema["$ref"];
  if (typeof ref === "string") {
    const name = ref.replace("#/components/schemas/", "");
    return fc.constant(null).chain(() => schemaArbitrary(doc, doc.components?.schemas?.[name], depth + 1));
  }
  const alternatives = (schema["anyOf"] ?? schema["oneOf"]) as JsonSchema[] | undefined;
  if (alternatives) return fc.oneof(...alternatives.map((s) => schemaArbitrary(doc, s, depth + 1)));
  if (Array.isArray(schema["enum"])) {
    return fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...(schema["enum"] as unknown[])) },
      hostileString,
    );
  }
  if ("const" in schema) return fc.constant(schema["const"]);
  const types = Array.isArray(schema["type"]) ? (schema["type"] as string[]) : [schema["type"] as string];
  const arbs = types.map((type): fc.Arbitrary<unknown> => {
    switch (type) {
      case "string": {
        const format = schema["format"];
        if (format === "date-time") return fc.oneof(fc.constantFrom(...hostileInstants), hostileString);
        if (format === "date") return fc.constantFrom("0000-01-01", "0001-01-01", "2026-12-25", "2026-02-30");
        const pattern = schema["pattern"];
        if (typeof pattern === "string" && /_\[0-9A-HJKMNP-TV-Z\]\{26\}/.test(pattern)) {
          const prefix = pattern.slice(1, pattern.indexOf("_"));
          return fc.oneof(fc.constant(`${prefix}_01JD3Q0W6F7V8Y9Z0A1B2C3D4E`), hostileString);
        }
        return hostileString;
      }
      case "integer":
        return fc.oneof(fc.integer({ min: -2, max: 300 }), fc.constantFrom(2 ** 31, -(2 ** 53), 1e300));
      case "number":
        return fc.oneof(fc.double({ noNaN: true }), fc.integer({ min: 0, max: 100 }));
      case "boolean":
        return fc.boolean();
      case "null":
        return fc.constant(null);
      case "array":
        return fc.array(schemaArbitrary(doc, schema["items"] as JsonSchema, depth + 1), { maxLength: 3 });
      case "object": {
        const properties = (schema["properties"] ?? {}) as Record<string, JsonSchema>;
        const required = new Set((schema["required"] ?? []) as string[]);
        const fields: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [name, property] of Object.entries(properties)) {
          fields[name] = schemaArbitrary(doc, property, depth + 1);
        }
        const requiredKeys = Object.keys(fields).filter((k) => required.has(k));
        return fc.oneof(
          { weight: 8, arbitrary: fc.record(fields, { requiredKeys }) },
          { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
          {
            weight: 1,
            arbitrary: fc.record(fields, { requiredKeys }).map((o) => ({ ...o, unknownField: "\u0000" })),
          },
        );
      }
      default:
        return fc.oneof(hostileString, fc.integer(), fc.constant(null), fc.constant({}));
    }
  });
  return arbs.length === 1 ? arbs[0]! : fc.oneof(...arbs);
}

/** Validates answers against the document's response schemas (JSON Schema 2020-12, as OpenAPI 3.1 uses). */
export function responseValidator(doc: OpenApiDoc) {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats.default(ajv);
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [
          k,
          k === "$ref" && typeof v === "string" ? v.replace("#/components", "doc#/components") : rewrite(v),
        ]),
      );
    }
    return value;
  };
  ajv.addSchema({ $id: "doc", components: rewrite(doc.components ?? {}) });
  const cache = new Map<JsonSchema, ReturnType<typeof ajv.compile>>();
  return (schema: JsonSchema, body: unknown): string | null => {
    let validate = cache.get(schema);
    if (!validate) {
      validate = ajv.compile(rewrite(schema) as JsonSchema);
      cache.set(schema, validate);
    }
    return validate(body) ? null : ajv.errorsText(validate.errors);
  };
}
