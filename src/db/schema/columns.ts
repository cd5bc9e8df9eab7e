import { timestamp } from "drizzle-orm/pg-core";

/** All instants are timestamptz; drizzle maps them to Date objects (UTC). */
export const instant = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const timestamps = {
  createdAt: instant("created_at").notNull().defaultNow(),
  updatedAt: instant("updated_at").notNull().defaultNow(),
};
