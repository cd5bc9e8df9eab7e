import { join } from "node:path";
import {
  type ContractResult,
  type ContractValidator,
  createContractValidator,
  loadSpec,
} from "../../sdk/contract/index.js";
import { specsDir } from "../../sdk/contract/paths.js";
import type { Tmf621Version } from "../config.js";

// The official specs (test/specs/SOURCES.md), where the SDK's contract tests read them too.
export const specFiles: Record<Tmf621Version, string> = {
  v4: join(specsDir, "tmf621/TMF621-TroubleTicket-v4.0.0.swagger.json"),
  v5: join(specsDir, "tmf621/TMF621-Trouble_Ticket-v5.0.1.oas.yaml"),
};

let validators: Record<Tmf621Version, ContractValidator> | undefined;

/** One validator per version, built once per test file (schemas compile lazily and are kept). */
export function tmf621Contracts(): Record<Tmf621Version, ContractValidator> {
  validators ??= {
    v4: createContractValidator(loadSpec(specFiles.v4)),
    v5: createContractValidator(loadSpec(specFiles.v5)),
  };
  return validators;
}

/** For failure messages: the violations, one per line, or "ok". */
export function describeContract(result: ContractResult): string {
  return result.ok
    ? "ok"
    : result.errors.map((error) => `${error.path || "(body)"}: ${error.message}`).join("\n");
}
