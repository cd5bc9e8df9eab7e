import { pino } from "pino";

export type Logger = pino.Logger;

/** JSON logs; known secret-bearing fields are redacted wherever they appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "ticket-sync-gateway" },
      timestamp: pino.stdTimeFunctions.isoTime,
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
