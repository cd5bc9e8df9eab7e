import { mefSonataAdapter } from "./carrier-adapters.js";
import { describeCarrierConformance } from "./carrier-kit.js";

describeCarrierConformance(mefSonataAdapter);
