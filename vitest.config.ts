import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "connectors/**/*.test.ts", "src/**/*.test.ts"],
    env: { TZ: "UTC" },
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // PGlite start-up dominates; two workers match the two cores CI has.
    maxWorkers: 2,
  },
});
