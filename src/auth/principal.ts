import type { Side } from "../../schemas/ticket.js";

/** Who is calling: the admin token, an operator key (optionally limited to tenants), or a tenant key. */
export type Principal =
  | { kind: "admin" }
  | { kind: "operator"; operatorId: string; keyId: string; tenantIds: string[] | null }
  | { kind: "tenant"; tenantId: string; keyId: string };

/** Who did something, as the ledger and comments record it. */
export type Actor =
  | { type: "admin" }
  | { type: "operator"; id: string }
  | { type: "tenant_key"; id: string }
  | { type: "connection"; id: string }
  | { type: "system"; id: string };

export function actorOf(principal: Principal): Actor {
  switch (principal.kind) {
    case "admin":
      return { type: "admin" };
    case "operator":
      return { type: "operator", id: principal.operatorId };
    case "tenant":
      return { type: "tenant_key", id: principal.keyId };
  }
}

export function sideOf(principal: Principal): Side {
  return principal.kind === "tenant" ? "client" : "provider";
}

export function isProvider(principal: Principal): boolean {
  return principal.kind !== "tenant";
}

/** Whether the principal may act on this tenant's resources. Callers answer 404, not 403, when not. */
export function canAccessTenant(principal: Principal, tenantId: string): boolean {
  switch (principal.kind) {
    case "admin":
      return true;
    case "operator":
      return principal.tenantIds === null || principal.tenantIds.includes(tenantId);
    case "tenant":
      return principal.tenantId === tenantId;
  }
}

/** The tenant ids a list query is limited to; null means no limit. */
export function tenantScope(principal: Principal): string[] | null {
  switch (principal.kind) {
    case "admin":
      return null;
    case "operator":
      return principal.tenantIds;
    case "tenant":
      return [principal.tenantId];
  }
}

export function credentialId(principal: Principal): string {
  return principal.kind === "admin" ? "admin" : principal.keyId;
}
