import { fileURLToPath } from "node:url";

/**
 * The official specs and recorded payloads live in `shared/` beside the repository (CI clones the repo with
 * shared/ next to it). CONTRACT_SPECS_DIR / CONTRACT_PAYLOADS_DIR point elsewhere.
 */
export const specsDir =
  process.env["CONTRACT_SPECS_DIR"] ?? fileURLToPath(new URL("../../../../shared/specs", import.meta.url));
export const payloadsDir =
  process.env["CONTRACT_PAYLOADS_DIR"] ??
  fileURLToPath(new URL("../../../../shared/research/payloads", import.meta.url));
