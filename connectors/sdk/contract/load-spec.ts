/**
 * Loads vendor API description documents (Swagger 2.0 or OpenAPI 3.0, JSON or YAML) and
 * normalises them into one view that the contract validator works from: the operations by
 * (method, path template), each with its request body and response schemas per media type
 * and status code, plus the examples the spec attaches to them.
 *
 * Schemas are NOT rewritten here; they stay exactly as the vendor published them (with their
 * `$ref`s pointing into {@link LoadedSpec.document}). The conversion to JSON Schema that Ajv
 * understands happens lazily in `schema-converter.ts`, per operation.
 */
import { readFileSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import YAML from "yaml";

/** A parsed JSON/YAML object. */
export type JsonObject = Record<string, unknown>;

/** Which dialect the document was written in. */
export type SpecFormat = "swagger-2.0" | "openapi-3.0";

/** One example the spec attaches to a request body or a response. */
export interface SpecExample {
  /** Key under `examples` (OAS 3), the media type (Swagger 2 response `examples`), or `example`. */
  name: string;
  /** The example value, with a `$ref` to `#/components/examples/…` already followed. */
  value: unknown;
  /** JSON pointer of the place the example was declared, for messages. */
  location: string;
}

/** One media type of a request body or response. */
export interface SpecMediaType {
  /** As written in the spec, e.g. `application/json;charset=utf-8`. */
  mediaType: string;
  /** The schema as written (may be a `$ref`); `undefined` when the spec gives none. */
  schema: unknown;
  /** Every example attached to this media type (empty when there are none). */
  examples: SpecExample[];
}

/** The request body of an operation. */
export interface SpecRequestBody {
  /** OAS 3 `requestBody.required`, or Swagger 2 body parameter `required`. */
  required: boolean;
  content: SpecMediaType[];
}

/** One documented response of an operation. */
export interface SpecResponse {
  /** Status key as written: `"201"`, `"2XX"` or `"default"`. */
  status: string;
  description?: string;
  /** Empty when the response has no body (e.g. 204). */
  content: SpecMediaType[];
}

/** One operation, i.e. one (method, path template) pair. */
export interface SpecOperation {
  /** Lower case: `get`, `post`, `put`, `patch`, `delete`, `head`, `options`, `trace`. */
  method: string;
  /** Path template relative to the server base path, e.g. `/troubleTicket/{id}`. */
  pathTemplate: string;
  operationId?: string;
  deprecated: boolean;
  /** Base paths this operation is served under (from `servers` or `basePath`), e.g. `/tmf-api/troubleTicket/v5`. */
  basePaths: string[];
  /** `undefined` when the operation takes no body. */
  requestBody?: SpecRequestBody;
  responses: SpecResponse[];
  /** JSON pointer of the operation object, for messages. */
  location: string;
}

/** A loaded, normalised API description. Treat as read-only: it is cached and shared. */
export interface LoadedSpec {
  /** Absolute file path, or the name given to {@link normaliseSpec}. */
  source: string;
  format: SpecFormat;
  title: string;
  version: string;
  operations: SpecOperation[];
  /**
   * JSON pointer prefix of named schemas: `/components/schemas/` (OAS 3) or `/definitions/` (Swagger 2).
   * `$ref`s to either prefix are understood in both dialects.
   */
  schemaPointerPrefix: string;
  /** Named schemas (`components.schemas` or `definitions`), as written. */
  schemas: Readonly<Record<string, unknown>>;
  /** The whole parsed document, unmodified. */
  document: JsonObject;
}

/** Thrown when a spec cannot be read, parsed or understood. */
export class ContractSpecError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ContractSpecError";
  }
}

const httpMethods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;

/** Parsed documents by absolute path. The specs are large (Jira is 2.4 MB) and shared by many tests. */
const specCache = new Map<string, LoadedSpec>();

/**
 * Loads a Swagger 2.0 or OpenAPI 3.0 document from a `.json`, `.yaml` or `.yml` file and
 * normalises it (see {@link LoadedSpec}). Results are cached per absolute path for the life of
 * the process, so calling it again for the same file is free.
 *
 * YAML is parsed with the YAML 1.2 core schema, where a bare `=` (Zendesk's `change: =` example,
 * a YAML 1.1 `!!value` that strict 1.1 parsers reject) is the string `"="` and ISO timestamps
 * stay strings (so `date-time` examples validate as strings).
 *
 * @param path File path, absolute or relative to the working directory.
 * @returns The normalised spec.
 * @throws {ContractSpecError} When the file cannot be read or parsed, or is neither Swagger 2.0 nor OpenAPI 3.x.
 */
export function loadSpec(path: string): LoadedSpec {
  const absolutePath = resolvePath(path);
  const cached = specCache.get(absolutePath);
  if (cached) return cached;
  let text: string;
  try {
    text = readFileSync(absolutePath, "utf8");
  } catch (error) {
    throw new ContractSpecError(`cannot read spec ${absolutePath}`, { cause: error });
  }
  const spec = normaliseSpec(parseSpecText(text, absolutePath), absolutePath);
  specCache.set(absolutePath, spec);
  return spec;
}

/**
 * Parses spec text as JSON when it looks like JSON (or the source ends in `.json`), else as YAML.
 *
 * @param text The document text.
 * @param source File name or label, used to pick the parser and in error messages.
 * @returns The parsed document (not yet normalised).
 * @throws {ContractSpecError} On a syntax error.
 */
export function parseSpecText(text: string, source: string): unknown {
  const looksLikeJson = source.toLowerCase().endsWith(".json") || /^\s*[{[]/.test(text);
  try {
    if (looksLikeJson) return JSON.parse(text);
    // strict: false and uniqueKeys: false keep going on the small sloppiness vendor files have;
    // maxAliasCount: -1 because big specs may use many anchors legitimately.
    return YAML.parse(text, { strict: false, uniqueKeys: false, maxAliasCount: -1 });
  } catch (error) {
    throw new ContractSpecError(`cannot parse spec ${source}: ${errorMessage(error)}`, { cause: error });
  }
}

/**
 * Builds the normalised view of an already parsed Swagger 2.0 or OpenAPI 3.x document. Use it
 * for in-memory specs (tests); {@link loadSpec} calls it for files. Not cached.
 *
 * @param document The parsed document.
 * @param source A label for messages (a file path, or any name).
 * @returns The normalised spec.
 * @throws {ContractSpecError} When the document is neither Swagger 2.0 nor OpenAPI 3.x, or a `$ref` in
 *   the operation structure (request bodies, responses, parameters, examples) does not resolve.
 */
export function normaliseSpec(document: unknown, source: string): LoadedSpec {
  if (!isJsonObject(document)) throw new ContractSpecError(`${source}: the document is not an object`);
  const info = isJsonObject(document["info"]) ? document["info"] : {};
  const title = typeof info["title"] === "string" ? info["title"] : "";
  const version = typeof info["version"] === "string" ? info["version"] : "";
  if (document["swagger"] === "2.0") {
    return {
      source,
      format: "swagger-2.0",
      title,
      version,
      operations: collectOperations(document, source, "swagger-2.0"),
      schemaPointerPrefix: "/definitions/",
      schemas: objectAt(document, "definitions"),
      document,
    };
  }
  if (typeof document["openapi"] === "string" && document["openapi"].startsWith("3.")) {
    const components = objectAt(document, "components");
    return {
      source,
      format: "openapi-3.0",
      title,
      version,
      operations: collectOperations(document, source, "openapi-3.0"),
      schemaPointerPrefix: "/components/schemas/",
      schemas: objectAt(components, "schemas"),
      document,
    };
  }
  throw new ContractSpecError(`${source}: neither "swagger: 2.0" nor "openapi: 3.x"`);
}

/**
 * Follows a local JSON pointer (`#/a/b` or `/a/b`) into a document.
 *
 * @param document The document to look into.
 * @param pointer A local reference; `~0`/`~1` escapes and percent-encoding are decoded.
 * @returns The value at the pointer, or `undefined` when there is none.
 */
export function resolvePointer(document: unknown, pointer: string): unknown {
  const path = pointer.startsWith("#") ? pointer.slice(1) : pointer;
  if (path === "") return document;
  let current: unknown = document;
  for (const rawSegment of path.split("/").slice(1)) {
    const segment = decodePointerSegment(rawSegment);
    if (Array.isArray(current)) current = current[Number(segment)];
    else if (isJsonObject(current)) current = current[segment];
    else return undefined;
  }
  return current;
}

/**
 * Decodes one JSON pointer segment (`~1` → `/`, `~0` → `~`, then percent-decoding as used in URI fragments).
 *
 * @param segment One raw segment, without slashes.
 * @returns The decoded property name.
 */
export function decodePointerSegment(segment: string): string {
  let decoded = segment.replaceAll("~1", "/").replaceAll("~0", "~");
  try {
    decoded = decodeURIComponent(decoded);
  } catch {
    // Not percent-encoded after all (a stray `%`): keep as is.
  }
  return decoded;
}

/**
 * Escapes a property name for use as one JSON pointer segment.
 *
 * @param name A property name.
 * @returns The name with `~` and `/` escaped.
 */
export function encodePointerSegment(name: string): string {
  return name.replaceAll("~", "~0").replaceAll("/", "~1");
}

/**
 * True for plain objects (not arrays, not null).
 *
 * @param value Any value.
 * @returns Whether `value` is a non-array object.
 */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function collectOperations(document: JsonObject, source: string, format: SpecFormat): SpecOperation[] {
  const operations: SpecOperation[] = [];
  const documentBasePaths = format === "swagger-2.0" ? swaggerBasePaths(document) : serverBasePaths(document);
  for (const [pathTemplate, rawPathItem] of Object.entries(objectAt(document, "paths"))) {
    const pathPointer = `/paths/${encodePointerSegment(pathTemplate)}`;
    const pathItem = followRef(document, rawPathItem, source, pathPointer);
    if (!isJsonObject(pathItem)) continue;
    const pathParameters = Array.isArray(pathItem["parameters"]) ? pathItem["parameters"] : [];
    const pathBasePaths =
      format === "openapi-3.0" && Array.isArray(pathItem["servers"]) ? serverBasePaths(pathItem) : undefined;
    for (const method of httpMethods) {
      const operation = pathItem[method];
      if (!isJsonObject(operation)) continue;
      const location = `${pathPointer}/${method}`;
      const operationBasePaths =
        format === "openapi-3.0" && Array.isArray(operation["servers"])
          ? serverBasePaths(operation)
          : undefined;
      const requestBody =
        format === "swagger-2.0"
          ? swaggerRequestBody(document, operation, pathParameters, source, location)
          : openApiRequestBody(document, operation, source, location);
      operations.push({
        method,
        pathTemplate,
        ...(typeof operation["operationId"] === "string" ? { operationId: operation["operationId"] } : {}),
        deprecated: operation["deprecated"] === true,
        basePaths: operationBasePaths ?? pathBasePaths ?? documentBasePaths,
        ...(requestBody ? { requestBody } : {}),
        responses:
          format === "swagger-2.0"
            ? swaggerResponses(document, operation, source, location)
            : openApiResponses(document, operation, source, location),
        location,
      });
    }
  }
  return operations;
}

function openApiRequestBody(
  document: JsonObject,
  operation: JsonObject,
  source: string,
  location: string,
): SpecRequestBody | undefined {
  if (operation["requestBody"] === undefined) return undefined;
  const requestBody = followRef(document, operation["requestBody"], source, `${location}/requestBody`);
  if (!isJsonObject(requestBody)) return undefined;
  return {
    required: requestBody["required"] === true,
    content: openApiContent(document, requestBody, source, `${location}/requestBody`),
  };
}

function openApiResponses(
  document: JsonObject,
  operation: JsonObject,
  source: string,
  location: string,
): SpecResponse[] {
  const responses: SpecResponse[] = [];
  for (const [status, rawResponse] of Object.entries(objectAt(operation, "responses"))) {
    const responseLocation = `${location}/responses/${encodePointerSegment(status)}`;
    const response = followRef(document, rawResponse, source, responseLocation);
    if (!isJsonObject(response)) continue;
    responses.push({
      status,
      ...(typeof response["description"] === "string" ? { description: response["description"] } : {}),
      content: openApiContent(document, response, source, responseLocation),
    });
  }
  return responses;
}

/** `content` of an OAS 3 request body or response: one entry per media type, with its examples. */
function openApiContent(
  document: JsonObject,
  holder: JsonObject,
  source: string,
  location: string,
): SpecMediaType[] {
  const content: SpecMediaType[] = [];
  for (const [mediaType, mediaTypeObject] of Object.entries(objectAt(holder, "content"))) {
    if (!isJsonObject(mediaTypeObject)) continue;
    const mediaTypeLocation = `${location}/content/${encodePointerSegment(mediaType)}`;
    const examples: SpecExample[] = [];
    if ("example" in mediaTypeObject) {
      examples.push({
        name: "example",
        value: mediaTypeObject["example"],
        location: `${mediaTypeLocation}/example`,
      });
    }
    for (const [name, rawExample] of Object.entries(objectAt(mediaTypeObject, "examples"))) {
      const exampleLocation = `${mediaTypeLocation}/examples/${encodePointerSegment(name)}`;
      const example = followRef(document, rawExample, source, exampleLocation);
      // `externalValue` examples live outside the document; there is nothing to check locally.
      if (isJsonObject(example) && "value" in example) {
        examples.push({ name, value: example["value"], location: exampleLocation });
      }
    }
    content.push({ mediaType, schema: mediaTypeObject["schema"], examples });
  }
  return content;
}

function swaggerRequestBody(
  document: JsonObject,
  operation: JsonObject,
  pathParameters: unknown[],
  source: string,
  location: string,
): SpecRequestBody | undefined {
  const operationParameters = Array.isArray(operation["parameters"]) ? operation["parameters"] : [];
  // Operation-level parameters override path-level ones; a body parameter is unique either way.
  for (const rawParameter of [...operationParameters, ...pathParameters]) {
    const parameter = followRef(document, rawParameter, source, `${location}/parameters`);
    if (!isJsonObject(parameter) || parameter["in"] !== "body") continue;
    const consumes = mediaTypeList(operation["consumes"]) ??
      mediaTypeList(document["consumes"]) ?? ["application/json"];
    return {
      required: parameter["required"] === true,
      content: consumes.map((mediaType) => ({ mediaType, schema: parameter["schema"], examples: [] })),
    };
  }
  return undefined;
}

function swaggerResponses(
  document: JsonObject,
  operation: JsonObject,
  source: string,
  location: string,
): SpecResponse[] {
  const produces = mediaTypeList(operation["produces"]) ??
    mediaTypeList(document["produces"]) ?? ["application/json"];
  const responses: SpecResponse[] = [];
  for (const [status, rawResponse] of Object.entries(objectAt(operation, "responses"))) {
    const responseLocation = `${location}/responses/${encodePointerSegment(status)}`;
    const response = followRef(document, rawResponse, source, responseLocation);
    if (!isJsonObject(response)) continue;
    const declaredExamples = objectAt(response, "examples");
    const content: SpecMediaType[] =
      response["schema"] === undefined
        ? []
        : produces.map((mediaType) => ({
            mediaType,
            schema: response["schema"],
            examples:
              mediaType in declaredExamples
                ? [
                    {
                      name: mediaType,
                      value: declaredExamples[mediaType],
                      location: `${responseLocation}/examples/${encodePointerSegment(mediaType)}`,
                    },
                  ]
                : [],
          }));
    responses.push({
      status,
      ...(typeof response["description"] === "string" ? { description: response["description"] } : {}),
      content,
    });
  }
  return responses;
}

function swaggerBasePaths(document: JsonObject): string[] {
  const basePath = typeof document["basePath"] === "string" ? trimTrailingSlash(document["basePath"]) : "";
  return basePath === "" ? [] : [basePath];
}

/**
 * Path part of each `servers[].url`. Variables are replaced by their defaults first, so
 * `{apiRoot}/tmf-api/troubleTicket/v5/` (default `https://serverRoot`) gives `/tmf-api/troubleTicket/v5`.
 */
function serverBasePaths(holder: JsonObject): string[] {
  const basePaths = new Set<string>();
  const servers = Array.isArray(holder["servers"]) ? holder["servers"] : [];
  for (const server of servers) {
    if (!isJsonObject(server) || typeof server["url"] !== "string") continue;
    const variables = objectAt(server, "variables");
    const url = server["url"].replace(/\{([^}]+)\}/g, (_match, name: string) => {
      const variable = variables[name];
      return isJsonObject(variable) && typeof variable["default"] === "string"
        ? variable["default"]
        : "server";
    });
    let path: string;
    try {
      path = new URL(url, "http://relative.invalid").pathname;
    } catch {
      continue;
    }
    basePaths.add(trimTrailingSlash(decodeURI(path)));
  }
  return [...basePaths].filter((path) => path !== "");
}

/** `/a/b/` → `/a/b`; a bare `/` becomes `""` (no base path). */
function trimTrailingSlash(path: string): string {
  return path.replace(/\/+$/, "");
}

function mediaTypeList(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const list = value.filter((entry): entry is string => typeof entry === "string");
  return list.length > 0 ? list : undefined;
}

/** Follows `$ref` chains in the operation structure (request bodies, responses, parameters, examples). */
function followRef(document: JsonObject, value: unknown, source: string, location: string): unknown {
  let current = value;
  const seen = new Set<string>();
  while (isJsonObject(current) && typeof current["$ref"] === "string") {
    const ref = current["$ref"];
    if (!ref.startsWith("#"))
      throw new ContractSpecError(`${source}${location}: external $ref ${ref} is not supported`);
    if (seen.has(ref)) throw new ContractSpecError(`${source}${location}: $ref cycle through ${ref}`);
    seen.add(ref);
    const target = resolvePointer(document, ref);
    if (target === undefined)
      throw new ContractSpecError(`${source}${location}: $ref ${ref} does not resolve`);
    current = target;
  }
  return current;
}

function objectAt(holder: unknown, key: string): JsonObject {
  if (!isJsonObject(holder)) return {};
  const value = holder[key];
  return isJsonObject(value) ? value : {};
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
