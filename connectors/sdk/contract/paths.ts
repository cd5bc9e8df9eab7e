import { fileURLToPath } from "node:url";

/**
 * The official specs and recorded payloads the contract tests load, copied unmodified into the repository
 * (origin, commit, license and sha256 of each in their SOURCES.md; test/vendor-files.test.ts checks the sums).
 */
export const specsDir = fileURLToPath(new URL("../../../test/specs", import.meta.url));
export const payloadsDir = fileURLToPath(new URL("../../../test/payloads", import.meta.url));
