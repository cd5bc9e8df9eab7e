export * from "./access.js";
export * from "./delegations.js";
export * from "./idempotency.js";
export * from "./jobs.js";
export * from "./ledger.js";
export * from "./sla.js";
export * from "./sync.js";
export * from "./tickets.js";
