/**
 * Contract testing against official vendor API descriptions (Swagger 2.0 / OpenAPI 3.0, JSON or
 * YAML): load a spec once with {@link loadSpec}, create a validator with
 * {@link createContractValidator}, and check every request a connector sends and every response its
 * simulator returns. Discriminators with `mapping` (TMF621 v5's polymorphic `@type`) are honoured.
 *
 * Test-time tooling: it depends on `ajv`/`ajv-formats`, which are dev dependencies, so import it from
 * tests only, never from runtime connector code.
 */
export {
  ContractSpecError,
  type JsonObject,
  type LoadedSpec,
  loadSpec,
  normaliseSpec,
  parseSpecText,
  resolvePointer,
  type SpecExample,
  type SpecFormat,
  type SpecMediaType,
  type SpecOperation,
  type SpecRequestBody,
  type SpecResponse,
} from "./load-spec.js";
export { payloadsDir, specsDir } from "./paths.js";
export type { DiscriminatorMode, SchemaDirection } from "./schema-converter.js";
export {
  type ContractError,
  type ContractRequest,
  type ContractResponse,
  type ContractResult,
  type ContractValidator,
  type ContractValidatorOptions,
  createContractValidator,
  type MatchedOperation,
  type ValidateSchemaOptions,
} from "./validator.js";
