/**
 * Converts OpenAPI 3.0 / Swagger 2.0 schemas into JSON Schema (draft-07) that Ajv compiles,
 * registering each referenced named schema with Ajv under a stable id, lazily: only what an
 * operation reaches, transitively, is ever converted and compiled.
 *
 * ## What changes on the way from OpenAPI to JSON Schema
 *
 * - `nullable: true` (and Swagger's `x-nullable`) → `type: [T, "null"]` (plus `null` in `enum`), or
 *   `anyOf: [{type: "null"}, …]` when there is no plain `type` to widen (e.g. next to `$ref`/`allOf`).
 * - Boolean `exclusiveMinimum`/`exclusiveMaximum` (draft-04 style) → the numeric draft-07 form.
 * - Annotations (`example`, `description`, `x-*`, `xml`, `deprecated`, …) are dropped; only
 *   validation keywords are kept. Siblings of `$ref` are ignored, as OpenAPI 3.0 says (except `nullable`).
 * - `format`s Ajv does not know (Zendesk's `datetime`, TMF's `base64`, …) are dropped, not failed.
 * - `pattern`s that are not valid ECMAScript `u`-mode regexes are dropped (recorded in the diagnostics).
 * - `readOnly`/`writeOnly` (OpenAPI 3.0): in a request, a `required` property that is `readOnly` is
 *   not required; in a response, a `required` property that is `writeOnly` is not required. So each
 *   named schema is registered once per direction (`request`, `response`, `neutral`).
 *
 * ## Discriminators (Ajv's own `discriminator` option does not support `mapping`)
 *
 * A schema X with `discriminator: {propertyName: p, mapping?}` is registered as TWO Ajv schemas:
 *
 * - `X` (the dispatcher): reads `p` and validates the object against the schema the value selects,
 *   and ONLY that schema (that is how OpenAPI tooling deserialises polymorphic payloads).
 * - `X#base` (`…/base/…` in the id): X without its `discriminator`, i.e. its plain structure.
 *
 * The mapping is the explicit `mapping` (values are `$ref`s or bare schema names); without one, the
 * implicit mapping is: the names of the `oneOf`/`anyOf` members, or, for an inheritance base, its own
 * name plus the names of every named schema that `allOf`-inherits from it.
 *
 * For a value v the dispatcher picks:
 * - v maps to X itself, or to one of X's own `allOf` ancestors (TMF `TroubleTicket_RES` maps
 *   `TroubleTicket` to its parent; validating as the parent would drop `_RES`'s `required`) → `X#base`;
 * - v maps to a schema Y that has a discriminator on the same property → follow Y's mapping for v
 *   (cycle-guarded), ending at some `Z#base` (TMF: `PartyRefOrPartyRoleRef_FVO` --PartyRef-->
 *   `PartyRef_FVO`, whose own mapping sends `PartyRef` to itself → `PartyRef_FVO#base`);
 * - v maps to a schema Y without a discriminator → `Y`;
 * - v maps to nothing → if X is a closed choice (its discriminator sits on `oneOf`/`anyOf` and its
 *   mapping does not list X itself), an error at `/p` listing the allowed values; otherwise X is an
 *   inheritance base that TMF lets implementations extend with new `@type`s → `X#base`.
 * When `p` is absent, `X#base` applies (which reports `p` missing if it is required).
 *
 * Cycles: TMF subtypes are `allOf: [{$ref: Base}, {own props}]` while `Base`'s mapping lists the
 * subtypes. A `$ref` inside `allOf` is inheritance, not a polymorphic use site, so it is rewritten to
 * the `#base` variant: `Characteristic` --BooleanCharacteristic--> `BooleanCharacteristic` -allOf->
 * `Characteristic#base` (no dispatch) — no loop. Every dispatch lands on a `#base` variant or a schema
 * without discriminator, and `#base` variants only reach other schemas through `allOf` (→ `#base`
 * again) or by descending into the data (properties, items), so validation always terminates.
 * One exception keeps the dispatcher: `{allOf: [{$ref: X}], description: …}` as a property or items
 * schema is the generators' "reference with a description" idiom, not inheritance; it sits one level
 * down in the data, so it cannot loop either.
 */
import type { Ajv, AnySchemaObject, ValidateFunction } from "ajv";
import {
  ContractSpecError,
  decodePointerSegment,
  encodePointerSegment,
  isJsonObject,
  type JsonObject,
  type LoadedSpec,
  resolvePointer,
} from "./load-spec.js";

/**
 * Which side of the exchange a schema is checked for; decides how `readOnly`/`writeOnly` relax `required`.
 * `neutral` keeps every `required` as written.
 */
export type SchemaDirection = "request" | "response" | "neutral";

/** How discriminators are treated; `ignore` exists to show (in tests) what plain Ajv would accept. */
export type DiscriminatorMode = "honour" | "ignore";

/** Options of {@link SchemaRegistry}. */
export interface SchemaRegistryOptions {
  discriminators: DiscriminatorMode;
}

/** Id prefix of every registered schema; `.invalid` so that nothing ever tries to fetch it. */
const idBase = "https://contract.invalid";

type SchemaVariant = "schema" | "base";

/** The keywords with a JSON Schema meaning that are kept as they are (after their own conversion). */
const plainKeywords = new Set([
  "const",
  "maxLength",
  "minLength",
  "maximum",
  "minimum",
  "multipleOf",
  "maxItems",
  "minItems",
  "uniqueItems",
  "maxProperties",
  "minProperties",
]);

const jsonSchemaTypes = new Set(["string", "number", "integer", "boolean", "array", "object", "null"]);

/** A discriminator after resolution of its mapping. */
interface DiscriminatorInfo {
  propertyName: string;
  /** Discriminator value → canonical JSON pointer of the schema it selects. */
  mapping: Map<string, string>;
  /** True when a value outside the mapping is an error (a `oneOf`/`anyOf` choice not listing itself). */
  closed: boolean;
}

/** Where the converter is in the document while it rewrites one schema. */
interface ConversionContext {
  direction: SchemaDirection;
  /** JSON pointer of the node being converted (for messages and for inline discriminators). */
  location: string;
  /** readOnly/writeOnly of properties declared next to this node through the enclosing `allOf`. */
  inheritedAccess: PropertyAccess | undefined;
  /**
   * True when the node describes a value of its own (a property, array items, additional
   * properties, a request/response root), false when it is part of another schema (an `allOf`/
   * `oneOf`/`anyOf` member, a named schema).
   */
  describesValue: boolean;
}

type PropertyAccess = Map<string, { readOnly: boolean; writeOnly: boolean }>;

/** What a discriminator value leads to. */
type DispatchOutcome = { kind: "self" } | { kind: "schema"; id: string } | { kind: "reject" };

/**
 * Converts spec schemas on demand and registers them with one Ajv instance. One registry per
 * spec and validator; not shared across specs (ids are only unique within a document).
 */
export class SchemaRegistry {
  /** Ids already handed to Ajv (or queued), so each named schema is converted once per direction. */
  private readonly registered = new Set<string>();
  private readonly queue: {
    id: string;
    pointer: string;
    direction: SchemaDirection;
    variant: SchemaVariant;
  }[] = [];
  private readonly discriminatorCache = new Map<string, DiscriminatorInfo | undefined>();
  private readonly ancestorCache = new Map<string, Set<string>>();
  private descendantIndex: Map<string, Set<string>> | undefined;
  private readonly patternCache = new Map<string, boolean>();
  private readonly warnings = new Set<string>();

  /**
   * @param spec The spec whose schemas are converted (its `document` is read, never modified).
   * @param ajv The Ajv instance the converted schemas are added to (with ajv-formats installed).
   * @param options Whether discriminators are honoured.
   */
  constructor(
    private readonly spec: LoadedSpec,
    private readonly ajv: Ajv,
    private readonly options: SchemaRegistryOptions,
  ) {}

  /** How many named schema variants have been converted and registered so far. */
  get registeredCount(): number {
    return this.registered.size;
  }

  /** Things dropped during conversion (invalid regex patterns); empty for clean specs. */
  get diagnostics(): string[] {
    return [...this.warnings];
  }

  /**
   * Compiles an inline schema (as written in the spec, e.g. a media type's `schema`).
   *
   * @param schema The raw OpenAPI schema.
   * @param direction Request, response or neutral.
   * @param location JSON pointer of the schema, for messages.
   * @returns Ajv's validate function.
   * @throws {ContractSpecError} When a `$ref` does not resolve or Ajv rejects the converted schema.
   */
  compile(schema: unknown, direction: SchemaDirection, location: string): ValidateFunction {
    // Sets keep insertion order: everything registered from here on belongs to this compilation.
    const registeredBefore = this.registered.size;
    try {
      const converted = this.convert(schema, {
        direction,
        location,
        inheritedAccess: undefined,
        describesValue: true,
      });
      this.flushQueue();
      return this.ajv.compile(converted);
    } catch (error) {
      // Undo this compilation's registrations, so that a later call reports the same spec problem
      // instead of Ajv's "can't resolve reference" for a half-registered schema.
      for (const id of [...this.registered].slice(registeredBefore)) {
        this.registered.delete(id);
        this.ajv.removeSchema(id);
      }
      this.queue.length = 0;
      if (error instanceof ContractSpecError) throw error;
      throw new ContractSpecError(
        `${this.spec.source}#${location}: cannot compile schema: ${messageOf(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  /**
   * Compiles the named schema `name` (a key of `components.schemas` / `definitions`).
   *
   * @param name The schema name.
   * @param direction Request, response or neutral.
   * @returns Ajv's validate function, or `undefined` when the spec has no such schema.
   * @throws {ContractSpecError} When a `$ref` does not resolve or Ajv rejects the converted schema.
   */
  compileNamed(name: string, direction: SchemaDirection): ValidateFunction | undefined {
    if (!(name in this.spec.schemas)) return undefined;
    const pointer = `${this.spec.schemaPointerPrefix}${encodePointerSegment(name)}`;
    return this.compile({ $ref: `#${pointer}` }, direction, pointer);
  }

  /** Converts every queued named schema (which may queue more) and adds it to Ajv. */
  private flushQueue(): void {
    for (let next = this.queue.shift(); next; next = this.queue.shift()) {
      const raw = resolvePointer(this.spec.document, next.pointer);
      const context: ConversionContext = {
        direction: next.direction,
        location: next.pointer,
        inheritedAccess: undefined,
        describesValue: false,
      };
      const converted =
        next.variant === "base" ? this.convertWithoutDiscriminator(raw, context) : this.convert(raw, context);
      this.ajv.addSchema({ ...converted, $id: next.id });
    }
  }

  /** Ajv id of a named schema variant; queues it for conversion the first time it is asked for. */
  private idFor(pointer: string, direction: SchemaDirection, variant: SchemaVariant): string {
    const id = `${idBase}/${direction}/${variant}/${uriSafe(pointer)}`;
    if (!this.registered.has(id)) {
      this.registered.add(id);
      this.queue.push({ id, pointer, direction, variant });
    }
    return id;
  }

  /** Converts one schema node (recursively), dispatching on its discriminator if it has one. */
  private convert(node: unknown, context: ConversionContext): AnySchemaObject {
    if (!isJsonObject(node)) return typeof node === "boolean" ? (node ? {} : { not: {} }) : {};
    if (typeof node["$ref"] === "string") {
      return this.withNullable(node, { $ref: this.refTarget(node["$ref"], context, false) });
    }
    const discriminator = this.discriminatorAt(node, context.location);
    if (!discriminator) return this.convertWithoutDiscriminator(node, context);
    return this.withNullable(node, this.dispatcher(node, discriminator, context));
  }

  /** The plain structure of a node: every validation keyword converted, the discriminator ignored. */
  private convertWithoutDiscriminator(node: unknown, context: ConversionContext): AnySchemaObject {
    if (!isJsonObject(node)) return typeof node === "boolean" ? (node ? {} : { not: {} }) : {};
    if (typeof node["$ref"] === "string") {
      return this.withNullable(node, { $ref: this.refTarget(node["$ref"], context, false) });
    }
    const out: AnySchemaObject = {};
    const at = (suffix: string, describesValue = true): ConversionContext => ({
      direction: context.direction,
      location: `${context.location}/${suffix}`,
      inheritedAccess: undefined,
      describesValue,
    });

    if (typeof node["type"] === "string" && jsonSchemaTypes.has(node["type"])) out["type"] = node["type"];
    if (Array.isArray(node["type"])) {
      const types = node["type"].filter(
        (type): type is string => typeof type === "string" && jsonSchemaTypes.has(type),
      );
      if (types.length > 0) out["type"] = types;
    }
    for (const keyword of plainKeywords) {
      if (node[keyword] !== undefined) out[keyword] = node[keyword];
    }
    if (Array.isArray(node["enum"]) && node["enum"].length > 0) out["enum"] = node["enum"];
    this.convertExclusiveBound(node, out, "exclusiveMinimum", "minimum");
    this.convertExclusiveBound(node, out, "exclusiveMaximum", "maximum");
    if (typeof node["format"] === "string" && this.ajv.formats[node["format"]] !== undefined) {
      out["format"] = node["format"];
    }
    if (typeof node["pattern"] === "string") {
      if (this.isUsablePattern(node["pattern"])) out["pattern"] = node["pattern"];
      else
        this.warnings.add(
          `${context.location}: pattern ${JSON.stringify(node["pattern"])} is not an ECMAScript regex; ignored`,
        );
    }

    if (isJsonObject(node["properties"])) {
      const properties: Record<string, AnySchemaObject> = {};
      for (const [name, property] of Object.entries(node["properties"])) {
        properties[name] = this.convert(property, at(`properties/${encodePointerSegment(name)}`));
      }
      out["properties"] = properties;
    }
    if (isJsonObject(node["patternProperties"])) {
      const patternProperties: Record<string, AnySchemaObject> = {};
      for (const [pattern, property] of Object.entries(node["patternProperties"])) {
        if (this.isUsablePattern(pattern)) {
          patternProperties[pattern] = this.convert(
            property,
            at(`patternProperties/${encodePointerSegment(pattern)}`),
          );
        }
      }
      out["patternProperties"] = patternProperties;
    }
    if (typeof node["additionalProperties"] === "boolean")
      out["additionalProperties"] = node["additionalProperties"];
    else if (isJsonObject(node["additionalProperties"])) {
      out["additionalProperties"] = this.convert(node["additionalProperties"], at("additionalProperties"));
    }
    if (Array.isArray(node["items"]))
      out["items"] = node["items"].map((item, index) => this.convert(item, at(`items/${index}`)));
    else if (isJsonObject(node["items"])) out["items"] = this.convert(node["items"], at("items"));
    if (node["not"] !== undefined) out["not"] = this.convert(node["not"], at("not", false));
    for (const keyword of ["oneOf", "anyOf"] as const) {
      const members = node[keyword];
      if (Array.isArray(members)) {
        out[keyword] = members.map((member, index) => this.convert(member, at(`${keyword}/${index}`, false)));
      }
    }
    if (Array.isArray(node["allOf"])) {
      // Properties declared by this node or its other allOf members decide whether a `required`
      // inside a member is readOnly/writeOnly (TMF declares `required` and properties in different members).
      const access =
        context.direction === "neutral" ? undefined : this.propertyAccess(node, context.inheritedAccess);
      const inheritance = !isReferenceWrapper(node, context);
      out["allOf"] = node["allOf"].map((member, index) => {
        const memberContext = { ...at(`allOf/${index}`, false), inheritedAccess: access };
        // A $ref in allOf is inheritance: take the parent's plain structure, never its dispatcher.
        if (isJsonObject(member) && typeof member["$ref"] === "string") {
          return this.withNullable(member, {
            $ref: this.refTarget(member["$ref"], memberContext, inheritance),
          });
        }
        return this.convert(member, memberContext);
      });
    }
    if (Array.isArray(node["required"])) {
      const required = node["required"].filter((name): name is string => typeof name === "string");
      out["required"] = this.relaxRequired(node, required, context);
    }
    return this.withNullable(node, out);
  }

  /**
   * The dispatcher for a node with a discriminator, as a flat `allOf` of `if/then` branches (one per
   * mapped value that leads elsewhere) and one `if/else` fall-back for every other value.
   */
  private dispatcher(
    node: JsonObject,
    discriminator: DiscriminatorInfo,
    context: ConversionContext,
  ): AnySchemaObject {
    const property = discriminator.propertyName;
    const selfPointer = this.canonicalPointer(context.location);
    const base = (): AnySchemaObject => {
      if (this.isNamedPointer(selfPointer))
        return { $ref: this.idFor(selfPointer, context.direction, "base") };
      return this.convertWithoutDiscriminator(node, context);
    };
    const branches: AnySchemaObject[] = [];
    const routedValues: string[] = [];
    const allowedValues: string[] = [];
    for (const value of discriminator.mapping.keys()) {
      const outcome = this.dispatchOutcome(
        value,
        selfPointer,
        discriminator,
        context.direction,
        new Set([selfPointer]),
      );
      if (outcome.kind === "self") {
        allowedValues.push(value);
        continue;
      }
      const when = { type: "object", required: [property], properties: { [property]: { const: value } } };
      routedValues.push(value);
      if (outcome.kind === "schema") {
        allowedValues.push(value);
        branches.push(conditional(when, { $ref: outcome.id }));
      } else {
        branches.push(conditional(when, { properties: { [property]: { not: { const: value } } } }));
      }
    }
    let fallback: AnySchemaObject;
    if (!discriminator.closed) fallback = base();
    else {
      // A closed choice: a present value outside the mapping is an error at the property itself.
      const unknownValue: AnySchemaObject =
        allowedValues.length > 0 ? { properties: { [property]: { enum: allowedValues } } } : { not: {} };
      const selfValues = allowedValues.filter((value) => !routedValues.includes(value));
      fallback = conditional(
        { type: "object", required: [property] },
        selfValues.length > 0 ? { allOf: [unknownValue, base()] } : unknownValue,
        base(),
      );
    }
    if (branches.length === 0) return fallback;
    branches.push(
      conditional(
        { type: "object", required: [property], properties: { [property]: { enum: routedValues } } },
        undefined,
        fallback,
      ),
    );
    return { allOf: branches };
  }

  /** Where discriminator value `value` leads when met on the schema at `pointer` (see the file comment). */
  private dispatchOutcome(
    value: string,
    pointer: string,
    discriminator: DiscriminatorInfo,
    direction: SchemaDirection,
    visited: Set<string>,
  ): DispatchOutcome {
    const target = discriminator.mapping.get(value);
    if (target === undefined) return discriminator.closed ? { kind: "reject" } : { kind: "self" };
    if (target === pointer || this.ancestorsOf(pointer).has(target)) return { kind: "self" };
    const targetNode = resolvePointer(this.spec.document, target);
    if (targetNode === undefined) {
      throw new ContractSpecError(
        `${this.spec.source}#${pointer}: discriminator mapping ${value} → #${target} does not resolve`,
      );
    }
    const targetDiscriminator = this.discriminatorAt(targetNode, target);
    if (!targetDiscriminator || targetDiscriminator.propertyName !== discriminator.propertyName) {
      return { kind: "schema", id: this.idFor(target, direction, "schema") };
    }
    if (visited.has(target)) return { kind: "schema", id: this.idFor(target, direction, "base") };
    visited.add(target);
    const next = this.dispatchOutcome(value, target, targetDiscriminator, direction, visited);
    return next.kind === "self" ? { kind: "schema", id: this.idFor(target, direction, "base") } : next;
  }

  /** The discriminator of a node with its mapping resolved, or `undefined` (also when discriminators are ignored). */
  private discriminatorAt(node: unknown, location: string): DiscriminatorInfo | undefined {
    if (
      this.options.discriminators === "ignore" ||
      !isJsonObject(node) ||
      node["discriminator"] === undefined
    ) {
      return undefined;
    }
    const pointer = this.canonicalPointer(location);
    if (this.discriminatorCache.has(pointer)) return this.discriminatorCache.get(pointer);
    // Swagger 2.0 spells it `discriminator: "petType"` (no mapping); OpenAPI 3 uses an object.
    const raw =
      typeof node["discriminator"] === "string"
        ? { propertyName: node["discriminator"] }
        : node["discriminator"];
    if (!isJsonObject(raw) || typeof raw["propertyName"] !== "string") {
      this.discriminatorCache.set(pointer, undefined);
      return undefined;
    }
    const choices = [...arrayAt(node, "oneOf"), ...arrayAt(node, "anyOf")];
    const mapping = new Map<string, string>();
    if (isJsonObject(raw["mapping"])) {
      for (const [value, target] of Object.entries(raw["mapping"])) {
        if (typeof target !== "string") continue;
        mapping.set(
          value,
          target.startsWith("#") ? this.canonicalPointer(target.slice(1)) : this.namedPointer(target),
        );
      }
    } else if (choices.length > 0) {
      for (const choice of choices) {
        if (!isJsonObject(choice) || typeof choice["$ref"] !== "string") continue;
        const target = this.canonicalPointer(this.localRef(choice["$ref"], location));
        const name = this.nameOf(target);
        if (name !== undefined) mapping.set(name, target);
      }
    } else {
      const ownName = this.nameOf(pointer);
      if (ownName !== undefined) mapping.set(ownName, pointer);
      for (const descendant of this.descendantsOf(pointer)) {
        const name = this.nameOf(descendant);
        if (name !== undefined && !mapping.has(name)) mapping.set(name, descendant);
      }
    }
    const listsItself = [...mapping.values()].includes(pointer);
    const info: DiscriminatorInfo = {
      propertyName: raw["propertyName"],
      mapping,
      closed: choices.length > 0 && !listsItself,
    };
    this.discriminatorCache.set(pointer, info);
    return info;
  }

  /** Resolves a `$ref` to the Ajv id of the right variant of the target, queueing its conversion. */
  private refTarget(ref: string, context: ConversionContext, inheritance: boolean): string {
    const pointer = this.canonicalPointer(this.localRef(ref, context.location));
    const target = resolvePointer(this.spec.document, pointer);
    if (target === undefined) {
      throw new ContractSpecError(`${this.spec.source}#${context.location}: $ref ${ref} does not resolve`);
    }
    const variant = inheritance && this.discriminatorAt(target, pointer) ? "base" : "schema";
    return this.idFor(pointer, context.direction, variant);
  }

  /** Named schemas this one inherits from through `allOf` `$ref`s, transitively. */
  private ancestorsOf(pointer: string): Set<string> {
    const cached = this.ancestorCache.get(pointer);
    if (cached) return cached;
    const ancestors = new Set<string>();
    this.ancestorCache.set(pointer, ancestors); // Guards against allOf cycles while it fills.
    const node = resolvePointer(this.spec.document, pointer);
    for (const member of arrayAt(node, "allOf")) {
      if (!isJsonObject(member) || typeof member["$ref"] !== "string") continue;
      const parent = this.canonicalPointer(this.localRef(member["$ref"], pointer));
      ancestors.add(parent);
      for (const grandParent of this.ancestorsOf(parent)) ancestors.add(grandParent);
    }
    return ancestors;
  }

  /** Named schemas inheriting from `pointer` through `allOf`, transitively (implicit discriminator mapping). */
  private descendantsOf(pointer: string): Set<string> {
    if (!this.descendantIndex) {
      const index = new Map<string, Set<string>>();
      for (const name of Object.keys(this.spec.schemas)) {
        const child = this.namedPointer(name);
        for (const ancestor of this.ancestorsOf(child)) {
          const children = index.get(ancestor) ?? new Set<string>();
          children.add(child);
          index.set(ancestor, children);
        }
      }
      this.descendantIndex = index;
    }
    return this.descendantIndex.get(pointer) ?? new Set();
  }

  /** `required` minus readOnly properties (requests) or writeOnly properties (responses). */
  private relaxRequired(node: JsonObject, required: string[], context: ConversionContext): string[] {
    if (context.direction === "neutral") return required;
    const access = this.propertyAccess(node, context.inheritedAccess);
    return required.filter((name) => {
      const flags = access.get(name);
      if (!flags) return true;
      return context.direction === "request" ? !flags.readOnly : !flags.writeOnly;
    });
  }

  /** readOnly/writeOnly of every property a node declares, itself or through `allOf` (following `$ref`s). */
  private propertyAccess(
    node: unknown,
    inherited: PropertyAccess | undefined,
    seen = new Set<unknown>(),
  ): PropertyAccess {
    const access: PropertyAccess = new Map(inherited ?? []);
    if (!isJsonObject(node) || seen.has(node)) return access;
    seen.add(node);
    const merge = (name: string, readOnly: boolean, writeOnly: boolean): void => {
      const previous = access.get(name);
      access.set(name, {
        readOnly: readOnly || (previous?.readOnly ?? false),
        writeOnly: writeOnly || (previous?.writeOnly ?? false),
      });
    };
    if (typeof node["$ref"] === "string") {
      const target = resolvePointer(this.spec.document, this.localRef(node["$ref"], ""));
      for (const [name, flags] of this.propertyAccess(target, undefined, seen))
        merge(name, flags.readOnly, flags.writeOnly);
      return access;
    }
    if (isJsonObject(node["properties"])) {
      for (const [name, property] of Object.entries(node["properties"])) {
        if (!isJsonObject(property)) continue;
        const target =
          typeof property["$ref"] === "string"
            ? resolvePointer(this.spec.document, this.localRef(property["$ref"], ""))
            : undefined;
        const flag = (key: "readOnly" | "writeOnly"): boolean =>
          property[key] === true || (isJsonObject(target) && target[key] === true);
        merge(name, flag("readOnly"), flag("writeOnly"));
      }
    }
    for (const member of arrayAt(node, "allOf")) {
      for (const [name, flags] of this.propertyAccess(member, undefined, seen))
        merge(name, flags.readOnly, flags.writeOnly);
    }
    return access;
  }

  private convertExclusiveBound(
    node: JsonObject,
    out: AnySchemaObject,
    keyword: "exclusiveMinimum" | "exclusiveMaximum",
    bound: "minimum" | "maximum",
  ): void {
    const value = node[keyword];
    if (typeof value === "number") out[keyword] = value;
    else if (value === true && typeof node[bound] === "number") {
      out[keyword] = node[bound];
      delete out[bound];
    }
  }

  /** Applies OpenAPI's `nullable` (or Swagger's `x-nullable`) to a converted schema. */
  private withNullable(node: JsonObject, converted: AnySchemaObject): AnySchemaObject {
    if (node["nullable"] !== true && node["x-nullable"] !== true) return converted;
    const composite = ["$ref", "allOf", "anyOf", "oneOf", "not", "if"].some(
      (keyword) => keyword in converted,
    );
    const type = converted["type"];
    if (!composite && (typeof type === "string" || Array.isArray(type))) {
      const types: unknown[] = typeof type === "string" ? [type] : type;
      const widened: AnySchemaObject = {
        ...converted,
        type: types.includes("null") ? types : [...types, "null"],
      };
      if (Array.isArray(converted["enum"]) && !converted["enum"].includes(null))
        widened["enum"] = [...converted["enum"], null];
      return widened;
    }
    return { anyOf: [{ type: "null" }, converted] };
  }

  private isUsablePattern(pattern: string): boolean {
    let usable = this.patternCache.get(pattern);
    if (usable === undefined) {
      try {
        new RegExp(pattern, "u");
        usable = true;
      } catch {
        usable = false;
      }
      this.patternCache.set(pattern, usable);
    }
    return usable;
  }

  /** The pointer part of a local `$ref` (`#/a/b` → `/a/b`). */
  private localRef(ref: string, location: string): string {
    if (!ref.startsWith("#")) {
      throw new ContractSpecError(`${this.spec.source}#${location}: external $ref ${ref} is not supported`);
    }
    return ref.slice(1);
  }

  /** One spelling per location, so `%20`/`~1` variants of a pointer share one registration. */
  private canonicalPointer(pointer: string): string {
    if (pointer === "") return "";
    return pointer
      .split("/")
      .map((segment, index) => (index === 0 ? segment : encodePointerSegment(decodePointerSegment(segment))))
      .join("/");
  }

  /** Pointer of a named schema, from a bare name as discriminator mappings may use. */
  private namedPointer(name: string): string {
    return `${this.spec.schemaPointerPrefix}${encodePointerSegment(name)}`;
  }

  /** The schema name when `pointer` is a named schema (`/components/schemas/X` or `/definitions/X`). */
  private nameOf(pointer: string): string | undefined {
    const match = /^\/(?:components\/schemas|definitions)\/([^/]+)$/.exec(pointer);
    return match?.[1] === undefined ? undefined : decodePointerSegment(match[1]);
  }

  private isNamedPointer(pointer: string): boolean {
    return this.nameOf(pointer) !== undefined;
  }
}

/** JSON Schema `if`/`then`/`else`; `then` and `else` are left out when not given. */
function conditional(
  condition: AnySchemaObject,
  consequence: AnySchemaObject | undefined,
  alternative?: AnySchemaObject,
): AnySchemaObject {
  const schema: AnySchemaObject = { if: condition };
  // biome-ignore lint/suspicious/noThenProperty: `then` is the JSON Schema keyword, not a thenable.
  if (consequence) schema["then"] = consequence;
  if (alternative) schema["else"] = alternative;
  return schema;
}

/** Keywords that make an `allOf` node more than a reference with annotations. */
const structuralKeywords = [
  "properties",
  "additionalProperties",
  "patternProperties",
  "required",
  "items",
  "oneOf",
  "anyOf",
  "not",
  "discriminator",
  "enum",
];

/**
 * `{allOf: [{$ref: X}], description: …}` on a property or array items is the generators' idiom
 * for "a reference with a description" (OpenAPI 3.0 ignores siblings of `$ref`), not inheritance,
 * so it keeps X's dispatcher. It describes a value of its own, so it cannot loop back to X at the
 * same place in the data.
 */
function isReferenceWrapper(node: JsonObject, context: ConversionContext): boolean {
  const members = node["allOf"];
  return (
    context.describesValue &&
    Array.isArray(members) &&
    members.length === 1 &&
    isJsonObject(members[0]) &&
    typeof members[0]["$ref"] === "string" &&
    !structuralKeywords.some((keyword) => keyword in node)
  );
}

function arrayAt(node: unknown, key: string): unknown[] {
  if (!isJsonObject(node)) return [];
  const value = node[key];
  return Array.isArray(value) ? value : [];
}

/** A JSON pointer as an id path segment: only unreserved characters, injective (`.` escapes). */
function uriSafe(pointer: string): string {
  return pointer.replace(
    /[^A-Za-z0-9_-]/g,
    (character) => `.${character.codePointAt(0)?.toString(16) ?? "0"}.`,
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
