import { pino } from "pino";
import { describeDatabaseError, isDatabaseError } from "../db/errors.js";

/** Database errors are logged by SQLSTATE and statement name only; their messages can quote values. */
function serializeError(error: unknown) {
  if (isDatabaseError(error)) return describeDatabaseError(error);
  return error instanceof Error ? pino.stdSerializers.err(error) : error;
}

export type Logger = pino.Logger;

/** JSON logs; known secret-bearing fields are redacted wherever they appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "ticket-sync-gateway" },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: serializeError, error: serializeError },
      redact: {
        paths: [
          "authorization",
          "*.authorization",
          "apiKey",
          "*.apiKey",
          "password",
          "*.password",
          "token",
          "*.token",
          "clientSecret",
          "*.clientSecret",
          "refreshToken",
          "*.refreshToken",
          "settings",
          "*.settings",
          "webhookSecret",
          "*.webhookSecret",
        ],
        censor: "[redacted]",
      },
    },
    destination,
  );
}
