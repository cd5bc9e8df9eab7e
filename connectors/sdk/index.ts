/**
 * The connector SDK: the interface every vendor connector implements, and the shared HTTP
 * (guarded against internal addresses), OAuth2 and webhook-verification building blocks. Import from here, not from the files.
 */

export * from "./carrier.js";
export * from "./changed-cursor.js";
export * from "./connector.js";
export * from "./create-or-link.js";
export * from "./errors.js";
export * from "./http.js";
export * from "./oauth2.js";
export * from "./outbound.js";
export * from "./read-back.js";
export * from "./settings.js";
export * from "./webhook-body.js";
export * from "./webhook-signature.js";
