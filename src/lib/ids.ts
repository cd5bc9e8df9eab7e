import { monotonicFactory } from "ulid";

const nextUlid = monotonicFactory();

export const idPrefixes = {
  ticket: "tkt",
  comment: "cmt",
  attachment: "att",
  tenant: "ten",
  operator: "opr",
  apiKey: "key",
  connection: "con",
  job: "job",
  delegation: "dlg",
  request: "req",
  appointment: "apt",
  dispatch: "dsp",
  worklog: "wlg",
} as const;

/** Prefixed, time-sortable ids (`tkt_01J...`): readable in logs, ordered for keyset pagination. */
export function newId(kind: keyof typeof idPrefixes): string {
  return `${idPrefixes[kind]}_${nextUlid()}`;
}
