/**
 * Contract validation of HTTP exchanges against an official API description: does this request
 * body / response body conform to what the vendor's spec says for this method, path, status and
 * content type? Connector tests call it on every request a connector sends and every response its
 * simulator returns, so a connector that drifts from the vendor API fails its own tests.
 *
 * Schemas are compiled lazily, per (operation, media type, status) on first use, and only the named
 * schemas reachable from there are converted (see `schema-converter.ts` for the OpenAPI → JSON
 * Schema rules and how discriminators are honoured).
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { LoadedSpec, SpecMediaType, SpecOperation, SpecResponse } from "./load-spec.js";
import { encodePointerSegment } from "./load-spec.js";
import { type DiscriminatorMode, type SchemaDirection, SchemaRegistry } from "./schema-converter.js";

/** One contract violation. */
export interface ContractError {
  /**
   * JSON pointer into the body, naming the offending field (`/ticket/subject`, `/note/0/date`);
   * for a missing required property it ends with that property's name. `""` is the body itself,
   * and is also used for problems that are not about the body (unknown operation, undocumented
   * status, unsupported content type), whose message says so.
   */
  path: string;
  message: string;
}

/** The outcome of a validation: `ok`, or the list of violations (never empty). */
export type ContractResult = { ok: true } | { ok: false; errors: ContractError[] };

/** A request as a connector sends it. */
export interface ContractRequest {
  /** HTTP method, any case. */
  method: string;
  /**
   * Concrete request path, with or without the spec's server base path and query string:
   * `/tmf-api/troubleTicket/v5/troubleTicket/42` and `/troubleTicket/42` both match `/troubleTicket/{id}`.
   * A full URL is accepted too; only its path counts.
   */
  path: string;
  /** `Content-Type` of the body; when left out, JSON (`application/json`, then any `+json`) is preferred. */
  contentType?: string;
  /** The parsed body; `undefined` means "no body". */
  body?: unknown;
}

/** A response as a vendor (or a simulator of it) returns it. */
export interface ContractResponse extends ContractRequest {
  /** HTTP status; matched against exact codes, then `2XX`-style ranges, then `default`. */
  status: number | string;
}

/** Options of {@link createContractValidator}. */
export interface ContractValidatorOptions {
  /**
   * `honour` (default) dispatches on `discriminator` + `mapping`; `ignore` validates as plain JSON
   * Schema would, which exists to demonstrate the difference in tests.
   */
  discriminators?: DiscriminatorMode;
}

/** Options of {@link ContractValidator.validateSchema}. */
export interface ValidateSchemaOptions {
  /** Which side's `readOnly`/`writeOnly` relaxation of `required` applies; default `neutral` (none). */
  direction?: SchemaDirection;
}

/** The operation a concrete method + path resolved to. */
export interface MatchedOperation {
  operation: SpecOperation;
  /** Values of the path template's parameters, e.g. `{ id: "42" }` (percent-decoded). */
  pathParameters: Record<string, string>;
}

/** Validates requests, responses and single schemas against one spec. */
export interface ContractValidator {
  /** The spec this validator checks against. */
  readonly spec: LoadedSpec;
  /**
   * Validates a request body against the operation's request body schema for its content type.
   * Fails when the operation does not exist, the content type is not accepted, a required body is
   * missing, or a body is sent to an operation that takes none.
   */
  validateRequest(request: ContractRequest): ContractResult;
  /**
   * Validates a response body against the schema the operation documents for that status and
   * content type. Fails when the operation does not exist, the status is not documented, or a body
   * comes with a status documented without one. A missing body (`undefined`) where one is
   * documented passes: OpenAPI cannot say that a response body is required.
   */
  validateResponse(response: ContractResponse): ContractResult;
  /**
   * Validates a value against a named schema (`components.schemas` / `definitions` key), with
   * discriminators honoured. An unknown name is an error result.
   */
  validateSchema(schemaName: string, value: unknown, options?: ValidateSchemaOptions): ContractResult;
  /** Resolves a concrete method and path to the spec operation, or `undefined`. */
  findOperation(method: string, path: string): MatchedOperation | undefined;
  /** How many named schema variants have been converted and handed to Ajv so far (laziness is observable). */
  readonly compiledSchemaCount: number;
  /** Things the converter had to drop (e.g. non-ECMAScript regex patterns); normally empty. */
  readonly diagnostics: string[];
}

// ajv-formats is CommonJS: under NodeNext its default import is the module object whose `default`
// is the plugin (the plugin function also carries itself as `.default` at run time).
const addFormats = addFormatsModule.default;

interface OperationTemplate {
  operation: SpecOperation;
  pattern: RegExp;
  parameterNames: string[];
  /** Per segment: 2 literal, 1 literal with a parameter inside, 0 parameter only; more literal wins. */
  specificity: number[];
}

/**
 * Creates a validator for one loaded spec. Cheap: nothing is compiled until a request, response
 * or schema is validated, and then only what that operation needs (compiled validators are kept).
 *
 * @param spec A spec from {@link loadSpec} or {@link normaliseSpec}.
 * @param options See {@link ContractValidatorOptions}.
 * @returns The validator.
 * @throws {ContractSpecError} Later, from the validate methods, when the spec itself is broken
 *   (a `$ref` that does not resolve, a schema Ajv cannot compile) — a spec problem, not a contract violation.
 */
export function createContractValidator(
  spec: LoadedSpec,
  options: ContractValidatorOptions = {},
): ContractValidator {
  const ajv = new Ajv({
    strict: false,
    allErrors: true,
    allowUnionTypes: true,
    // The converted schemas are produced by our own code; meta-validating thousands of them is wasted time.
    validateSchema: false,
    logger: false,
  });
  addFormats(ajv);
  const registry = new SchemaRegistry(spec, ajv, { discriminators: options.discriminators ?? "honour" });
  const compiled = new Map<string, ValidateFunction>();
  const templates = spec.operations.map(compileTemplate);
  const basePaths = [...new Set(spec.operations.flatMap((operation) => operation.basePaths))].sort(
    (left, right) => right.length - left.length,
  );

  const validatorFor = (
    key: string,
    build: () => ValidateFunction | undefined,
  ): ValidateFunction | undefined => {
    let validate = compiled.get(key);
    if (!validate) {
      validate = build();
      if (validate) compiled.set(key, validate);
    }
    return validate;
  };

  const runSchema = (
    key: string,
    mediaType: SpecMediaType,
    direction: SchemaDirection,
    location: string,
    body: unknown,
  ): ContractResult => {
    if (mediaType.schema === undefined) return { ok: true };
    const validate = validatorFor(key, () => registry.compile(mediaType.schema, direction, location));
    return validate ? resultOf(validate, body) : { ok: true };
  };

  const findOperation = (method: string, path: string): MatchedOperation | undefined => {
    const lowerMethod = method.toLowerCase();
    let best: { template: OperationTemplate; parameters: Record<string, string> } | undefined;
    for (const candidate of candidatePaths(path, basePaths)) {
      for (const template of templates) {
        if (template.operation.method !== lowerMethod) continue;
        const match = template.pattern.exec(candidate);
        if (!match) continue;
        if (best && compareSpecificity(template.specificity, best.template.specificity) <= 0) continue;
        const parameters: Record<string, string> = {};
        template.parameterNames.forEach((name, index) => {
          parameters[name] = safeDecode(match[index + 1] ?? "");
        });
        best = { template, parameters };
      }
    }
    return best ? { operation: best.template.operation, pathParameters: best.parameters } : undefined;
  };

  const unknownOperation = (method: string, path: string): ContractResult => {
    const otherMethods = new Set<string>();
    for (const candidate of candidatePaths(path, basePaths)) {
      for (const template of templates) {
        if (template.pattern.test(candidate)) otherMethods.add(template.operation.method.toUpperCase());
      }
    }
    const hint =
      otherMethods.size > 0
        ? `the path exists only for ${[...otherMethods].sort().join(", ")}`
        : "no path template matches (with or without the server base path)";
    return failure("", `operation: ${method.toUpperCase()} ${path} is not in ${describe(spec)}: ${hint}`);
  };

  return {
    spec,
    get compiledSchemaCount() {
      return registry.registeredCount;
    },
    get diagnostics() {
      return registry.diagnostics;
    },
    findOperation,

    validateRequest(request) {
      const matched = findOperation(request.method, request.path);
      if (!matched) return unknownOperation(request.method, request.path);
      const { operation } = matched;
      const label = `${operation.method.toUpperCase()} ${operation.pathTemplate}`;
      const requestBody = operation.requestBody;
      if (request.body === undefined) {
        return requestBody?.required ? failure("", `request: ${label} requires a body`) : { ok: true };
      }
      if (!requestBody) return failure("", `request: ${label} takes no request body in ${describe(spec)}`);
      const mediaType = pickMediaType(requestBody.content, request.contentType);
      if (!mediaType) {
        return failure(
          "",
          `content type: ${label} does not accept ${request.contentType ?? "a body"}; the spec lists ${listMediaTypes(requestBody.content)}`,
        );
      }
      return runSchema(
        `request ${operation.location} ${mediaType.mediaType}`,
        mediaType,
        "request",
        `${operation.location}/requestBody/content/${encodePointerSegment(mediaType.mediaType)}/schema`,
        request.body,
      );
    },

    validateResponse(response) {
      const matched = findOperation(response.method, response.path);
      if (!matched) return unknownOperation(response.method, response.path);
      const { operation } = matched;
      const label = `${operation.method.toUpperCase()} ${operation.pathTemplate}`;
      const documented = pickResponse(operation.responses, String(response.status));
      if (!documented) {
        return failure(
          "",
          `status: ${label} does not document status ${response.status}; it documents ${operation.responses.map((entry) => entry.status).join(", ") || "nothing"}`,
        );
      }
      if (documented.content.length === 0) {
        return isEmptyBody(response.body)
          ? { ok: true }
          : failure(
              "",
              `response: ${label} ${documented.status} has no body in ${describe(spec)}, but one was returned`,
            );
      }
      if (response.body === undefined) return { ok: true };
      const mediaType = pickMediaType(documented.content, response.contentType);
      if (!mediaType) {
        return failure(
          "",
          `content type: ${label} ${documented.status} is not documented as ${response.contentType}; the spec lists ${listMediaTypes(documented.content)}`,
        );
      }
      return runSchema(
        `response ${operation.location} ${documented.status} ${mediaType.mediaType}`,
        mediaType,
        "response",
        `${operation.location}/responses/${encodePointerSegment(documented.status)}/content/${encodePointerSegment(mediaType.mediaType)}/schema`,
        response.body,
      );
    },

    validateSchema(schemaName, value, schemaOptions = {}) {
      const direction = schemaOptions.direction ?? "neutral";
      const validate = validatorFor(`schema ${direction} ${schemaName}`, () =>
        registry.compileNamed(schemaName, direction),
      );
      if (!validate) return failure("", `schema: ${describe(spec)} has no schema named ${schemaName}`);
      return resultOf(validate, value);
    },
  };
}

function compileTemplate(operation: SpecOperation): OperationTemplate {
  const parameterNames: string[] = [];
  const specificity: number[] = [];
  const segments = trimSlashes(operation.pathTemplate).split("/");
  const source = segments
    .map((segment) => {
      const parts = segment.split(/(\{[^}]+\})/).filter((part) => part !== "");
      const parameters = parts.filter((part) => part.startsWith("{"));
      specificity.push(parameters.length === 0 ? 2 : parameters.length === parts.length ? 0 : 1);
      return parts
        .map((part) => {
          if (!part.startsWith("{")) return escapeRegExp(part);
          parameterNames.push(part.slice(1, -1));
          return "([^/]+?)";
        })
        .join("");
    })
    .join("/");
  return { operation, pattern: new RegExp(`^/${source}$`), parameterNames, specificity };
}

/** The path as given and, for each server base path it starts with, the path below it. */
function candidatePaths(rawPath: string, basePaths: string[]): string[] {
  // A full URL (as a simulator sees it) counts by its path only.
  const pathPart = /^[a-z][a-z0-9+.-]*:\/\//i.test(rawPath) ? new URL(rawPath).pathname : rawPath;
  const withoutQuery = pathPart.replace(/[?#].*$/, "");
  const path = `/${trimSlashes(withoutQuery)}`;
  const candidates = [path];
  for (const basePath of basePaths) {
    if (path === basePath) candidates.push("/");
    else if (path.startsWith(`${basePath}/`)) candidates.push(path.slice(basePath.length));
  }
  return candidates;
}

function compareSpecificity(left: number[], right: number[]): number {
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? -1) - (right[index] ?? -1);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** Exact status, then its `NXX` range, then `default`. */
function pickResponse(responses: SpecResponse[], status: string): SpecResponse | undefined {
  const range = `${status.charAt(0)}XX`;
  return (
    responses.find((response) => response.status === status) ??
    responses.find((response) => response.status.toUpperCase() === range) ??
    responses.find((response) => response.status === "default")
  );
}

/**
 * The media type entry for a content type: same essence (parameters such as `charset` ignored),
 * then `type/*`, then `*∕*`. Without a content type: `application/json`, then any JSON type, then the first.
 */
function pickMediaType(content: SpecMediaType[], contentType: string | undefined): SpecMediaType | undefined {
  if (contentType === undefined) {
    return (
      content.find((entry) => essence(entry.mediaType) === "application/json") ??
      content.find((entry) => isJsonMediaType(essence(entry.mediaType))) ??
      content[0]
    );
  }
  const wanted = essence(contentType);
  const wantedType = wanted.split("/")[0];
  return (
    content.find((entry) => essence(entry.mediaType) === wanted) ??
    content.find((entry) => essence(entry.mediaType) === `${wantedType}/*`) ??
    content.find((entry) => essence(entry.mediaType) === "*/*")
  );
}

function essence(mediaType: string): string {
  return (mediaType.split(";")[0] ?? "").trim().toLowerCase();
}

function isJsonMediaType(mediaType: string): boolean {
  return mediaType === "application/json" || mediaType.endsWith("+json") || mediaType.endsWith("/json");
}

function listMediaTypes(content: SpecMediaType[]): string {
  return content.map((entry) => entry.mediaType).join(", ") || "none";
}

function isEmptyBody(body: unknown): boolean {
  return body === undefined || body === null || body === "";
}

function resultOf(validate: ValidateFunction, value: unknown): ContractResult {
  if (validate(value)) return { ok: true };
  return { ok: false, errors: toContractErrors(validate.errors ?? []) };
}

/**
 * Ajv errors as contract errors: the path names the field (missing and unexpected properties are
 * appended), the `if` wrappers of discriminator dispatch are dropped, duplicates are merged.
 */
function toContractErrors(errors: ErrorObject[]): ContractError[] {
  const seen = new Set<string>();
  const contractErrors: ContractError[] = [];
  for (const error of errors) {
    if (error.keyword === "if") continue;
    let path = error.instancePath;
    let message = error.message ?? error.keyword;
    const params: Record<string, unknown> = error.params;
    if (error.keyword === "required" && typeof params["missingProperty"] === "string") {
      path = `${path}/${encodePointerSegment(params["missingProperty"])}`;
      message = "is required";
    } else if (error.keyword === "additionalProperties" && typeof params["additionalProperty"] === "string") {
      path = `${path}/${encodePointerSegment(params["additionalProperty"])}`;
      message = "is not allowed (additionalProperties: false)";
    } else if (error.keyword === "enum" && Array.isArray(params["allowedValues"])) {
      message = `${message}: ${params["allowedValues"].map((value) => JSON.stringify(value)).join(", ")}`;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    contractErrors.push({ path, message });
  }
  if (contractErrors.length === 0) contractErrors.push({ path: "", message: "does not match the schema" });
  return contractErrors;
}

function failure(path: string, message: string): ContractResult {
  return { ok: false, errors: [{ path, message }] };
}

function describe(spec: LoadedSpec): string {
  return `${spec.title || spec.source} ${spec.version}`.trim();
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, "");
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
