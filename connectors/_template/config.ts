import { z } from "@hono/zod-openapi";
import { PriorityTableOverride } from "../../schemas/priority.js";
import { baseConnectionSettings } from "../sdk/index.js";

// TODO: rename `Template`/`template` throughout the folder to the vendor's name.
// One setting per line, each with a JSDoc saying what it is at the vendor and, if optional, what
// happens without it. Prefer `.default(...)` over optional-and-checked-everywhere. Anything secret
// (a second API key, a signing key) must also be added to `secretPaths` in index.ts.

export const TemplateSettings = baseConnectionSettings.extend({
  /**
   * The vendor identity our writes carry (user name or id, as comment authors are reported). The engine asks
   * the connector's `integrationIdentity` (here {@link integrationUserOf}) and skips comments by it on import;
   * it never reads settings by name. TODO: make it required if Basic auth does not imply it.
   */
  integrationUser: z.string().min(1).optional(),
  /** Changes to this vendor's priority table (`priorityScheme` in index.ts), applied by `mappingContext`; wins over the tenant's. */
  priorityOverride: PriorityTableOverride.optional(),
  /** Sent when resolving a ticket that carries no `resolutionNote`. TODO: drop if the vendor needs none. */
  resolutionNotes: z.string().min(1).default("Resolved by the service provider."),
  // TODO: the vendor's own settings (project, queue, table, custom field ids, ...).
});
export type TemplateSettings = z.infer<typeof TemplateSettings>;

/** The identity our own writes come back with, when known. */
export function integrationUserOf(settings: TemplateSettings): string | null {
  if (settings.integrationUser !== undefined) return settings.integrationUser;
  return settings.auth.type === "basic" ? settings.auth.username : null;
}
