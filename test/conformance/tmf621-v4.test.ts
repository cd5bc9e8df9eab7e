import { tmf621V4Adapter } from "./carrier-adapters.js";
import { describeCarrierConformance } from "./carrier-kit.js";

describeCarrierConformance(tmf621V4Adapter);
