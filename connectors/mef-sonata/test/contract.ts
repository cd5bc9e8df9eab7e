import { join } from "node:path";
import { type ContractResult, createContractValidator, loadSpec } from "../../sdk/contract/index.js";
import { specsDir } from "../../sdk/contract/paths.js";
import type { SimulatorContract } from "../simulator.js";

/** The official MEF 124 v4 specs live outside the repository; override for other checkouts. */

/** troubleTicketManagement.api v4: what the seller serves and our client calls. */
export const management = createContractValidator(
  loadSpec(join(specsDir, "mef-sonata/troubleTicketManagement.api.v4.0.0.yaml")),
);
/** troubleTicketNotification.api v4: what the seller posts to our listener. */
export const notification = createContractValidator(
  loadSpec(join(specsDir, "mef-sonata/troubleTicketNotification.api.v4.0.0.yaml")),
);
export const simulatorContract: SimulatorContract = { management, notification };

/** A result as text for failure messages (empty when it passed). */
export function contractErrors(result: ContractResult): string {
  return result.ok
    ? ""
    : result.errors.map((error) => `${error.path || "(body)"} ${error.message}`).join("\n");
}
