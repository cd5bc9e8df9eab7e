/**
 * The contract validator itself: spec loading and normalisation, path and content-type matching,
 * the OpenAPI → JSON Schema rules (nullable, readOnly/writeOnly, formats, exclusive bounds), and
 * discriminator dispatch — first on small in-memory specs, then on TMF621 v5's real polymorphism.
 * The official examples and the vendor payloads are in `contract-specs.test.ts`.
 */

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  type ContractResult,
  ContractSpecError,
  type ContractValidator,
  createContractValidator,
  type JsonObject,
  loadSpec,
  normaliseSpec,
  parseSpecText,
} from "../contract/index.js";
import { payloadsDir, specsDir } from "../contract/paths.js";

/** Official specs and example payloads live outside the repository; override for other checkouts. */
const tmf621v5Path = join(specsDir, "tmf621/TMF621-Trouble_Ticket-v5.0.1.oas.yaml");

function payload(name: string): JsonObject {
  return JSON.parse(readFileSync(join(payloadsDir, name), "utf8"));
}

/** The error paths of a result (empty when it passed), for compact assertions. */
function errorPaths(result: ContractResult): string[] {
  return result.ok ? [] : result.errors.map((error) => error.path);
}

function errorText(result: ContractResult): string {
  return result.ok ? "" : result.errors.map((error) => `${error.path} ${error.message}`).join("\n");
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/**
 * A small OAS 3.0 spec exercising what the vendor specs use: server base path with a variable,
 * `$ref`'d request bodies/responses/examples, charset parameters, status ranges, nullable,
 * readOnly/writeOnly, an inheritance discriminator without mapping (Pet/Cat/Dog, the OpenAPI
 * example) and a closed `oneOf` discriminator with a mapping (one value given as a bare name).
 */
function petStoreDocument(unrelatedSchemaCount = 0): JsonObject {
  const unrelated: JsonObject = {};
  for (let index = 0; index < unrelatedSchemaCount; index += 1) {
    unrelated[`Unrelated${index}`] = { type: "object", properties: { next: ref(`Unrelated${index + 1}`) } };
  }
  return {
    openapi: "3.0.3",
    info: { title: "Pet store", version: "2.0.0" },
    servers: [{ url: "{root}/api/pets/v2/", variables: { root: { default: "https://pets.example" } } }],
    paths: {
      "/pets": {
        post: {
          requestBody: { $ref: "#/components/requestBodies/NewPet" },
          responses: {
            "201": { $ref: "#/components/responses/OnePet" },
            "4XX": { description: "client error", content: { "application/json": { schema: ref("Error") } } },
            default: {
              description: "other error",
              content: { "application/json": { schema: ref("Error") } },
            },
          },
        },
      },
      "/pets/search": {
        post: {
          requestBody: { content: { "application/json": { schema: ref("Search") } } },
          responses: {
            "200": { description: "ok", content: { "application/json": { schema: { type: "array" } } } },
          },
        },
      },
      "/pets/{petId}": {
        get: { responses: { "200": { $ref: "#/components/responses/OnePet" } } },
        patch: {
          requestBody: {
            required: true,
            content: {
              "application/merge-patch+json": { schema: ref("PetPatch") },
              "application/json-patch+json": { schema: { type: "array", items: ref("PatchOperation") } },
            },
          },
          responses: { "204": { description: "patched" } },
        },
        delete: { responses: { "204": { description: "deleted" } } },
      },
      "/pens/{penId}": {
        put: {
          requestBody: { content: { "application/json": { schema: ref("Pen") } } },
          responses: { "204": { description: "stored" } },
        },
      },
    },
    components: {
      requestBodies: {
        NewPet: {
          required: true,
          content: {
            "application/json;charset=utf-8": {
              schema: ref("Pet"),
              examples: { tom: { $ref: "#/components/examples/Tom" } },
            },
          },
        },
      },
      responses: {
        OnePet: {
          description: "a pet",
          content: {
            "application/json": { schema: ref("Pet"), example: { id: "1", name: "Rex", petType: "Pet" } },
          },
        },
      },
      examples: { Tom: { value: { name: "Tom", petType: "Cat", huntingSkill: "lazy", secret: "s" } } },
      schemas: {
        Pet: {
          type: "object",
          required: ["petType", "name", "id", "secret"],
          discriminator: { propertyName: "petType" },
          properties: {
            id: { type: "string", readOnly: true },
            secret: { type: "string", writeOnly: true },
            name: { type: "string", minLength: 1, example: "Rex", "x-vendor-note": "ignored" },
            petType: { type: "string" },
            born: { type: "string", format: "date-time" },
            chip: { type: "string", format: "microchip-id" },
            tag: { type: "string", nullable: true },
            color: { type: "string", enum: ["black", "white"], nullable: true },
            weight: { type: "number", minimum: 0, exclusiveMinimum: true },
            home: { allOf: [ref("Address")], nullable: true, description: "a $ref with annotations" },
          },
        },
        Cat: {
          allOf: [
            ref("Pet"),
            {
              type: "object",
              required: ["huntingSkill"],
              properties: { huntingSkill: { type: "string", enum: ["clueless", "lazy", "aggressive"] } },
            },
          ],
        },
        Dog: {
          allOf: [
            ref("Pet"),
            { type: "object", required: ["packSize"], properties: { packSize: { type: "integer" } } },
          ],
        },
        Occupant: {
          oneOf: [ref("Cat"), ref("Dog")],
          discriminator: {
            propertyName: "petType",
            mapping: { cat: "#/components/schemas/Cat", dog: "Dog" },
          },
        },
        Pen: {
          type: "object",
          properties: {
            occupant: ref("Occupant"),
            keeper: { allOf: [ref("Pet")], description: "wrapped reference keeps dispatching" },
          },
        },
        Address: { type: "object", required: ["city"], properties: { city: { type: "string" } } },
        PetPatch: { type: "object", properties: { name: { type: "string" } } },
        PatchOperation: {
          type: "object",
          required: ["op", "path"],
          properties: {
            op: { type: "string", enum: ["add", "remove", "replace"] },
            path: { type: "string" },
          },
        },
        Search: {
          type: "object",
          additionalProperties: false,
          properties: { query: { type: "string" }, limit: { type: "integer", maximum: 100 } },
        },
        Error: { type: "object", required: ["code"], properties: { code: { type: "string" } } },
        ...unrelated,
      },
    },
  };
}

const petStore = createContractValidator(normaliseSpec(petStoreDocument(), "pet-store"));
const cat = { id: "7", name: "Tom", petType: "Cat", huntingSkill: "lazy", secret: "s" };

describe("loadSpec / normaliseSpec", () => {
  it("parses a bare YAML `=` (Zendesk's `change: =`) as the string '=' and keeps timestamps as strings", () => {
    expect(parseSpecText("example:\n  - change: =\n    at: 2020-11-20T08:00:00Z\n", "inline.yaml")).toEqual({
      example: [{ change: "=", at: "2020-11-20T08:00:00Z" }],
    });
  });

  it("normalises OpenAPI 3: $ref'd request bodies, responses and examples; server base path; charset media types", () => {
    const spec = normaliseSpec(petStoreDocument(), "pet-store");
    expect(spec.format).toBe("openapi-3.0");
    const create = spec.operations.find(
      (operation) => operation.method === "post" && operation.pathTemplate === "/pets",
    );
    expect(create?.basePaths).toEqual(["/api/pets/v2"]);
    expect(create?.requestBody?.required).toBe(true);
    expect(create?.requestBody?.content[0]?.mediaType).toBe("application/json;charset=utf-8");
    expect(create?.requestBody?.content[0]?.examples.map((example) => example.name)).toEqual(["tom"]);
    expect(create?.responses.map((response) => response.status)).toEqual(["201", "4XX", "default"]);
    expect(create?.responses[0]?.content[0]?.examples[0]?.value).toEqual({
      id: "1",
      name: "Rex",
      petType: "Pet",
    });
  });

  it("normalises Swagger 2.0: basePath, body parameters, consumes/produces, response schemas and examples, definitions", () => {
    const spec = normaliseSpec(
      {
        swagger: "2.0",
        info: { title: "Tickets", version: "4.0.0" },
        basePath: "/tmf-api/troubleTicket/v4/",
        consumes: ["application/json;charset=utf-8"],
        produces: ["application/json;charset=utf-8"],
        paths: {
          "/ticket": {
            post: {
              parameters: [
                { $ref: "#/parameters/Fields" },
                { name: "t", in: "body", required: true, schema: { $ref: "#/definitions/Ticket" } },
              ],
              responses: {
                "201": {
                  description: "created",
                  schema: { $ref: "#/definitions/Ticket" },
                  examples: { "application/json;charset=utf-8": { id: "1" } },
                },
                "204": { description: "nothing" },
              },
            },
          },
        },
        parameters: { Fields: { name: "fields", in: "query", type: "string" } },
        definitions: {
          Ticket: {
            type: "object",
            required: ["id"],
            discriminator: "@type",
            properties: {
              id: { type: "string" },
              "@type": { type: "string" },
              closedAt: { type: "string", "x-nullable": true },
            },
          },
          Incident: {
            allOf: [
              { $ref: "#/definitions/Ticket" },
              { type: "object", required: ["impact"], properties: { impact: { type: "string" } } },
            ],
          },
        },
      },
      "swagger",
    );
    expect(spec.format).toBe("swagger-2.0");
    const operation = spec.operations[0];
    expect(operation?.basePaths).toEqual(["/tmf-api/troubleTicket/v4"]);
    expect(operation?.requestBody).toEqual({
      required: true,
      content: [
        {
          mediaType: "application/json;charset=utf-8",
          schema: { $ref: "#/definitions/Ticket" },
          examples: [],
        },
      ],
    });
    expect(operation?.responses[0]?.content[0]?.examples[0]?.value).toEqual({ id: "1" });
    expect(operation?.responses[1]?.content).toEqual([]);

    const validator = createContractValidator(spec);
    const post = (body: unknown) =>
      validator.validateRequest({ method: "POST", path: "/tmf-api/troubleTicket/v4/ticket", body });
    expect(post({ id: "1", closedAt: null })).toEqual({ ok: true });
    expect(errorPaths(post({}))).toEqual(["/id"]);
    // Swagger 2's string discriminator: "@type": "Incident" selects the Incident definition.
    expect(errorPaths(post({ id: "1", "@type": "Incident" }))).toEqual(["/impact"]);
    expect(validator.validateResponse({ method: "POST", path: "/ticket", status: 204 })).toEqual({
      ok: true,
    });
  });

  it("caches parsed files per path", () => {
    expect(loadSpec(tmf621v5Path)).toBe(loadSpec(tmf621v5Path));
  });

  it("a $ref that does not resolve is a spec error (thrown), not a contract result", () => {
    const document = petStoreDocument();
    const schemas = (document["components"] as JsonObject)["schemas"] as JsonObject;
    schemas["Address"] = { type: "object", properties: { zip: ref("PostCode") } };
    const validator = createContractValidator(normaliseSpec(document, "broken pet store"));
    expect(() => validator.validateSchema("Address", {})).toThrow(ContractSpecError);
    expect(() => validator.validateSchema("Address", {})).toThrow(
      /\$ref #\/components\/schemas\/PostCode does not resolve/,
    );
  });

  it("rejects documents that are neither Swagger 2.0 nor OpenAPI 3", () => {
    expect(() => normaliseSpec({ asyncapi: "2.0.0" }, "events")).toThrow(/neither/);
  });
});

describe("operation matching", () => {
  it("accepts paths with or without the server base path, and ignores query strings", () => {
    for (const path of [
      "/api/pets/v2/pets/42",
      "/pets/42",
      "/pets/42/",
      "/pets/42?fields=name",
      "https://pets.example/api/pets/v2/pets/42?fields=name",
    ]) {
      expect(petStore.findOperation("GET", path)?.operation.pathTemplate).toBe("/pets/{petId}");
    }
    expect(petStore.findOperation("get", "/pets/a%20b")?.pathParameters).toEqual({ petId: "a b" });
  });

  it("prefers a literal segment over a template parameter", () => {
    expect(petStore.findOperation("POST", "/pets/search")?.operation.pathTemplate).toBe("/pets/search");
  });

  it("fails an unknown path, and a known path with a method the spec does not have", () => {
    const unknownPath = petStore.validateRequest({ method: "POST", path: "/owners", body: {} });
    expect(unknownPath.ok).toBe(false);
    expect(errorText(unknownPath)).toMatch(
      /POST \/owners is not in Pet store 2\.0\.0: no path template matches/,
    );
    const wrongMethod = petStore.validateRequest({ method: "PUT", path: "/pets/1", body: {} });
    expect(errorText(wrongMethod)).toMatch(/exists only for DELETE, GET, PATCH/);
  });
});

describe("request and response selection", () => {
  it("matches content types by essence (charset ignored) and picks the schema per content type", () => {
    const body = { name: "Tom", petType: "Cat", huntingSkill: "lazy", secret: "s" };
    expect(
      petStore.validateRequest({ method: "POST", path: "/pets", contentType: "application/json", body }),
    ).toEqual({ ok: true });
    const patch = (contentType: string, patchBody: unknown) =>
      petStore.validateRequest({ method: "PATCH", path: "/pets/7", contentType, body: patchBody });
    expect(patch("application/merge-patch+json", { name: "Tim" })).toEqual({ ok: true });
    expect(patch("application/json-patch+json", [{ op: "replace", path: "/name", value: "Tim" }])).toEqual({
      ok: true,
    });
    expect(errorPaths(patch("application/json-patch+json", [{ op: "upsert", path: "/name" }]))).toEqual([
      "/0/op",
    ]);
    expect(errorText(patch("text/plain", "Tim"))).toMatch(/does not accept text\/plain/);
  });

  it("fails a missing required body and a body sent to an operation without one", () => {
    expect(errorText(petStore.validateRequest({ method: "PATCH", path: "/pets/7" }))).toMatch(
      /requires a body/,
    );
    expect(errorText(petStore.validateRequest({ method: "DELETE", path: "/pets/7", body: {} }))).toMatch(
      /takes no request body/,
    );
    expect(petStore.validateRequest({ method: "DELETE", path: "/pets/7" })).toEqual({ ok: true });
  });

  it("selects responses by exact status, then NXX range, then default; fails undocumented statuses", () => {
    const respond = (method: string, path: string, status: number, body?: unknown) =>
      petStore.validateResponse({ method, path, status, body });
    expect(respond("POST", "/pets", 201, { ...cat })).toEqual({ ok: true });
    expect(errorPaths(respond("POST", "/pets", 404, { message: "no" }))).toEqual(["/code"]);
    expect(respond("POST", "/pets", 503, { code: "down" })).toEqual({ ok: true });
    expect(errorText(respond("GET", "/pets/1", 500, { code: "x" }))).toMatch(
      /does not document status 500; it documents 200/,
    );
    expect(respond("DELETE", "/pets/1", 204)).toEqual({ ok: true });
    expect(errorText(respond("DELETE", "/pets/1", 204, { unexpected: true }))).toMatch(/has no body/);
  });
});

describe("OpenAPI → JSON Schema conversion", () => {
  const asResponse = (body: JsonObject) =>
    petStore.validateResponse({ method: "GET", path: "/pets/7", status: 200, body });
  const rex = { id: "7", name: "Rex", petType: "Pet" };

  it("honours nullable on plain types, enums and wrapped $refs", () => {
    expect(asResponse({ ...rex, tag: null, color: null, home: null })).toEqual({ ok: true });
    expect(errorPaths(asResponse({ ...rex, color: "green" }))).toEqual(["/color"]);
    expect(errorPaths(asResponse({ ...rex, home: {} }))).toContain("/home/city");
    expect(errorPaths(asResponse({ ...rex, name: null }))).toEqual(["/name"]);
  });

  it("enforces known formats, ignores unknown ones, converts boolean exclusiveMinimum, drops annotations", () => {
    expect(errorPaths(asResponse({ ...rex, born: "yesterday" }))).toEqual(["/born"]);
    expect(asResponse({ ...rex, born: "2020-11-20T08:00:00Z", chip: "anything" })).toEqual({ ok: true });
    expect(errorPaths(asResponse({ ...rex, weight: 0 }))).toEqual(["/weight"]);
    expect(asResponse({ ...rex, weight: 0.1 })).toEqual({ ok: true });
  });

  it("does not require readOnly properties in requests nor writeOnly properties in responses", () => {
    // Pet requires id (readOnly) and secret (writeOnly).
    const request = (body: JsonObject) => petStore.validateRequest({ method: "POST", path: "/pets", body });
    expect(request({ name: "Tom", petType: "Cat", huntingSkill: "lazy", secret: "s" })).toEqual({ ok: true });
    expect(errorPaths(request({ name: "Tom", petType: "Cat", huntingSkill: "lazy" }))).toEqual(["/secret"]);
    expect(asResponse(rex)).toEqual({ ok: true });
    expect(errorPaths(asResponse({ name: "Rex", petType: "Pet" }))).toEqual(["/id"]);
    // validateSchema keeps every `required` unless told the direction.
    expect(errorPaths(petStore.validateSchema("Pet", rex))).toEqual(["/secret"]);
    expect(petStore.validateSchema("Pet", rex, { direction: "response" })).toEqual({ ok: true });
  });

  it("names the field in error paths: appended missing and unexpected properties", () => {
    const search = (body: unknown) =>
      petStore.validateRequest({ method: "POST", path: "/pets/search", body });
    expect(search({ query: "cat", limit: 10 })).toEqual({ ok: true });
    expect(search({ query: "cat", page: 2 })).toEqual({
      ok: false,
      errors: [{ path: "/page", message: "is not allowed (additionalProperties: false)" }],
    });
    expect(errorPaths(search({ limit: 500 }))).toEqual(["/limit"]);
    expect(errorText(petStore.validateSchema("Nope", {}))).toMatch(/no schema named Nope/);
  });

  it("compiles lazily: only the schemas an operation reaches", () => {
    const validator = createContractValidator(normaliseSpec(petStoreDocument(500), "big pet store"));
    expect(validator.compiledSchemaCount).toBe(0);
    expect(validator.validateRequest({ method: "POST", path: "/pets/search", body: { query: "x" } })).toEqual(
      { ok: true },
    );
    expect(validator.compiledSchemaCount).toBe(1);
    validator.validateResponse({ method: "POST", path: "/pets", status: 201, body: cat });
    // Pet (dispatcher + base), Cat, Dog, Address — not the 500 unrelated schemas.
    expect(validator.compiledSchemaCount).toBeLessThan(10);
  });
});

describe("discriminators (in-memory spec)", () => {
  const plain = createContractValidator(normaliseSpec(petStoreDocument(), "pet-store"), {
    discriminators: "ignore",
  });
  const pen = (body: JsonObject, validator: ContractValidator = petStore) =>
    validator.validateRequest({ method: "PUT", path: "/pens/1", body });

  it("implicit mapping of an inheritance base: the value names a subtype, whose required fields apply", () => {
    const dogWithoutPackSize = { id: "1", name: "Rex", petType: "Dog", secret: "s" };
    expect(errorPaths(petStore.validateSchema("Pet", dogWithoutPackSize))).toEqual(["/packSize"]);
    // Plain JSON Schema validates Pet's own properties only and accepts it.
    expect(plain.validateSchema("Pet", dogWithoutPackSize)).toEqual({ ok: true });
    expect(petStore.validateSchema("Pet", { ...dogWithoutPackSize, packSize: 3 })).toEqual({ ok: true });
  });

  it("an inheritance base is open: an unmapped value validates as the base itself", () => {
    expect(
      petStore.validateSchema("Pet", { id: "1", name: "Hammy", petType: "Hamster", secret: "s" }),
    ).toEqual({ ok: true });
  });

  it("a closed oneOf with mapping: values select the schema (also bare-name mapping values); unknown values fail", () => {
    expect(pen({ occupant: { ...cat, petType: "cat" } })).toEqual({ ok: true });
    expect(errorPaths(pen({ occupant: { ...cat, petType: "dog" } }))).toEqual(["/occupant/packSize"]);
    expect(pen({ occupant: { ...cat, petType: "hamster" } })).toEqual({
      ok: false,
      errors: [
        { path: "/occupant/petType", message: 'must be equal to one of the allowed values: "cat", "dog"' },
      ],
    });
  });

  it("a property that is an allOf-wrapped $ref (reference with a description) still dispatches", () => {
    expect(errorPaths(pen({ keeper: { id: "1", name: "Rex", petType: "Dog", secret: "s" } }))).toEqual([
      "/keeper/packSize",
    ]);
  });

  it("terminates on the base ↔ subtype cycle (Cat allOf Pet, Pet's mapping lists Cat)", () => {
    expect(petStore.validateSchema("Cat", cat)).toEqual({ ok: true });
    expect(errorPaths(petStore.validateSchema("Cat", { ...cat, huntingSkill: "sleepy" }))).toEqual([
      "/huntingSkill",
    ]);
    expect(petStore.validateSchema("Pet", cat)).toEqual({ ok: true });
  });
});

describe("TMF621 v5 discriminators (polymorphic @type)", () => {
  const tmf = createContractValidator(loadSpec(tmf621v5Path));
  const plainTmf = createContractValidator(loadSpec(tmf621v5Path), { discriminators: "ignore" });
  const createTicket = (body: JsonObject, validator: ContractValidator = tmf) =>
    validator.validateRequest({ method: "POST", path: "/tmf-api/troubleTicket/v5/troubleTicket", body });
  const ticket = (): JsonObject => payload("tmf621v5-create-request.json");

  it("accepts the official create example, which plain JSON Schema rejects (oneOf PartyRef/PartyRoleRef is ambiguous)", () => {
    expect(createTicket(ticket())).toEqual({ ok: true });
    // Without honouring the mapping, {"@type": "PartyRef", id, …} matches both PartyRef_FVO and
    // PartyRoleRef_FVO, so `oneOf` fails; the discriminator is what makes it unambiguous.
    expect(errorPaths(createTicket(ticket(), plainTmf))).toContain("/relatedParty/0/partyOrPartyRole");
  });

  it("a note with @type Note is validated as Note_FVO: a wrong-typed field fails", () => {
    const body = {
      ...ticket(),
      note: [{ "@type": "Note", id: "1", author: "Jack", text: 42, date: "2022-05-31T07:34:45Z" }],
    };
    expect(errorPaths(createTicket(body))).toEqual(["/note/0/text"]);
    const badDate = { ...ticket(), note: [{ "@type": "Note", text: "x", date: "31/05/2022" }] };
    expect(errorPaths(createTicket(badDate))).toEqual(["/note/0/date"]);
  });

  it("@type naming a subtype applies the subtype's required fields (plain Ajv accepts the same object)", () => {
    // AttachmentRefOrValue_FVO: oneOf [Attachment_FVO, AttachmentRef_FVO], mapping Attachment /
    // AttachmentRef. This object says it is an AttachmentRef but lacks the reference's required `id`.
    // Plain JSON Schema: it satisfies Attachment_FVO (attachmentType + mimeType + @type) and fails
    // AttachmentRef_FVO, so exactly one oneOf branch matches and it PASSES. With the mapping honoured,
    // "@type": "AttachmentRef" selects AttachmentRef_FVO only, and the missing id FAILS.
    const attachmentRefWithoutId = {
      "@type": "AttachmentRef",
      name: "scan",
      attachmentType: "billCopy",
      mimeType: "image/png",
    };
    // (relatedParty left out: plain JSON Schema would trip over its PartyRef/PartyRoleRef ambiguity.)
    const body: JsonObject = { ...ticket(), attachment: [attachmentRefWithoutId] };
    delete body["relatedParty"];
    expect(errorPaths(createTicket(body))).toEqual(["/attachment/0/id"]);
    expect(createTicket(body, plainTmf)).toEqual({ ok: true });

    // Inheritance base with many subtypes: Characteristic_FVO maps BooleanCharacteristic to
    // BooleanCharacteristic_FVO, which requires `value` and types it boolean.
    const booleanWithoutValue = { "@type": "BooleanCharacteristic", name: "isUrgent" };
    expect(errorPaths(tmf.validateSchema("Characteristic_FVO", booleanWithoutValue))).toEqual(["/value"]);
    expect(plainTmf.validateSchema("Characteristic_FVO", booleanWithoutValue)).toEqual({ ok: true });
    expect(
      errorPaths(tmf.validateSchema("Characteristic_FVO", { ...booleanWithoutValue, value: "yes" })),
    ).toEqual(["/value"]);
    expect(tmf.validateSchema("Characteristic_FVO", { ...booleanWithoutValue, value: true })).toEqual({
      ok: true,
    });
  });

  it("an unknown @type fails where the mapping is closed (PartyRefOrPartyRoleRef_FVO: PartyRef | PartyRoleRef)", () => {
    const body = ticket();
    const relatedParty = body["relatedParty"] as JsonObject[];
    const party = { ...(relatedParty[0]?.["partyOrPartyRole"] as JsonObject), "@type": "Individual" };
    const result = createTicket({ ...body, relatedParty: [{ ...relatedParty[0], partyOrPartyRole: party }] });
    expect(result).toEqual({
      ok: false,
      errors: [
        {
          path: "/relatedParty/0/partyOrPartyRole/@type",
          message: 'must be equal to one of the allowed values: "PartyRef", "PartyRoleRef"',
        },
      ],
    });
  });

  it("an open inheritance base accepts an extension @type (TMF's @type/@schemaLocation extension pattern)", () => {
    const body = {
      ...ticket(),
      note: [
        { "@type": "VendorNote", text: "extended", "@schemaLocation": "https://vendor.example/note.json" },
      ],
    };
    expect(createTicket(body)).toEqual({ ok: true });
  });

  it("a mapping to the schema's own parent keeps the schema's constraints (TroubleTicket_RES requires id and href)", () => {
    // TroubleTicket_RES = allOf[TroubleTicket] + required [id, href], with mapping TroubleTicket → TroubleTicket.
    // Dispatching "@type": "TroubleTicket" to the parent would silently drop the required id/href.
    const response = payload("tmf621v5-create-response.json");
    const respond = (body: JsonObject) =>
      tmf.validateResponse({ method: "POST", path: "/troubleTicket", status: 201, body });
    expect(respond(response)).toEqual({ ok: true });
    const { href: _href, ...withoutHref } = response;
    expect(errorPaths(respond(withoutHref))).toEqual(["/href"]);
  });
});
