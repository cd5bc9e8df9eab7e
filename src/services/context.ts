import type { Principal } from "../auth/principal.js";
import type { Db } from "../db/client.js";

/** What every use case gets: who is acting and the database. */
export interface ServiceContext {
  db: Db;
  principal: Principal;
  requestId: string;
}
