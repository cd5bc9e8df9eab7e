import { tmf621V5Adapter } from "./carrier-adapters.js";
import { describeCarrierConformance } from "./carrier-kit.js";

describeCarrierConformance(tmf621V5Adapter);
