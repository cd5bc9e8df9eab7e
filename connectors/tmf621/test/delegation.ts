import type { CarrierTicketInput } from "../../sdk/index.js";

/** A delegation as the engine hands it over: a P1 fibre outage with a service, a reason and a reporter. */
export const delegation: CarrierTicketInput = {
  delegationId: "dlg_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  canonicalId: "tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
  title: "Fibre circuit down at Kista office",
  description: "Loss of light on the access circuit since 08:12.",
  priority: "P1",
  reason: "Carrier-side fault suspected: CPE shows LOS",
  service: { id: "CIR-778812", type: "Service" },
  customer: { id: "ten_01JD8X4Q2W", name: "Roxen AB" },
  reporter: { name: "Jane Doe", email: "jane.doe@msp.example", phone: "+46 8 123 45 67" },
};

/** The same without the optional parts. */
export const minimalDelegation: CarrierTicketInput = {
  ...delegation,
  reason: null,
  service: null,
  reporter: { name: "Jane Doe", email: null, phone: null },
};
