import { monotonicFactory } from "ulid";
import { idPrefixes } from "../../schemas/common.js";

export { idPrefixes };

const nextUlid = monotonicFactory();

/** Prefixed, time-sortable ids (`tkt_01J...`): readable in logs, ordered for keyset pagination. */
export function newId(kind: keyof typeof idPrefixes): string {
  return `${idPrefixes[kind]}_${nextUlid()}`;
}
