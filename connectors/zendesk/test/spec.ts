import { join } from "node:path";
import { expect } from "vitest";
import {
  type ContractError,
  type ContractResult,
  type ContractValidator,
  createContractValidator,
  loadSpec,
} from "../../sdk/contract/index.js";
import { specsDir } from "../../sdk/contract/paths.js";
import { ErrorBody } from "../api-types.js";

// Contract checks against Zendesk's published oas.yaml (test/specs/zendesk/oas.yaml).

let validator: ContractValidator | null = null;

/** One validator per test file: the spec is 1.2 MB and compiles lazily per operation. */
export function zendeskSpec(): ContractValidator {
  validator ??= createContractValidator(loadSpec(join(specsDir, "zendesk/oas.yaml")));
  return validator;
}

export interface ContractExchange {
  method: string;
  path: string;
  contentType?: string | null;
  body?: unknown;
  status?: number;
  responseBody?: unknown;
}

/**
 * Places where oas.yaml contradicts the live API and the API reference, so a correct request fails
 * it. Each is excused narrowly (the exact error path and message), never a whole operation.
 */
export const knownSpecDefects: readonly { reason: string; path: RegExp; message: RegExp }[] = [
  {
    // TicketUpdateInput.custom_fields items are $ref'd to CustomFieldObject, the ticket *field
    // definition* (key, type, title required). A ticket's custom field *values* are {id, value},
    // as TicketObject.custom_fields and the "Setting custom field values" guide say.
    reason: "ticket custom field values are {id, value}, not field definitions",
    path: /^\/ticket\/custom_fields\/\d+\/(key|type|title)$/,
    message: /required/,
  },
];

function excused(error: ContractError): boolean {
  return knownSpecDefects.some(
    (defect) => defect.path.test(error.path) && defect.message.test(error.message),
  );
}

function describeErrors(errors: readonly ContractError[]): string {
  return errors.map((error) => `${error.path || "(body)"} ${error.message}`).join("; ");
}

function describeFailure(result: ContractResult): string {
  return result.ok ? "" : describeErrors(result.errors);
}

/** Requests whose body does not match the operation's request schema, described with the body. */
export function requestViolations(requests: readonly ContractExchange[]): string[] {
  const spec = zendeskSpec();
  return requests.flatMap((request) => {
    // Uploads carry raw file bytes, which the spec does not describe as a request body.
    const rawUpload = request.path === "/api/v2/uploads";
    const result = spec.validateRequest({
      method: request.method,
      path: request.path,
      ...(rawUpload ? {} : { body: request.body }),
    });
    const errors = result.ok ? [] : result.errors.filter((error) => !excused(error));
    return errors.length === 0
      ? []
      : [`${request.method} ${request.path}: ${describeErrors(errors)} in ${JSON.stringify(request.body)}`];
  });
}

/**
 * Responses that contradict the spec. Statuses the spec documents are validated against it; the
 * spec documents no error responses at all, so a JSON error must be Zendesk's `{error, description?,
 * details?}` envelope, and plain-text 429s and HTML 5xx pages (what Zendesk's edge sends) pass.
 */
export function responseViolations(exchanges: readonly ContractExchange[]): string[] {
  const spec = zendeskSpec();
  return exchanges.flatMap((exchange) => {
    const status = exchange.status ?? 200;
    const operation = spec.findOperation(exchange.method, exchange.path)?.operation;
    const label = `${exchange.method} ${exchange.path} ${status}`;
    if (operation === undefined) return [`${label}: not an operation of the spec`];
    const documented = operation.responses.some((response) => response.status === String(status));
    if (documented) {
      const result = spec.validateResponse({
        method: exchange.method,
        path: exchange.path,
        status,
        body: exchange.responseBody,
      });
      return result.ok
        ? []
        : [`${label}: ${describeFailure(result)} in ${JSON.stringify(exchange.responseBody)}`];
    }
    if (status < 400) return [`${label}: status not documented by the spec`];
    if (exchange.responseBody === undefined)
      return status === 429 || status >= 500 ? [] : [`${label}: no JSON error body`];
    return ErrorBody.safeParse(exchange.responseBody).success
      ? []
      : [`${label}: not Zendesk's error envelope: ${JSON.stringify(exchange.responseBody)}`];
  });
}

export function expectValidRequests(requests: readonly ContractExchange[]): void {
  const violations = requestViolations(requests);
  expect(violations, violations.join("\n")).toEqual([]);
}

export function expectValidResponses(exchanges: readonly ContractExchange[]): void {
  const violations = responseViolations(exchanges);
  expect(violations, violations.join("\n")).toEqual([]);
}
