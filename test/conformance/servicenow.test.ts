import { serviceNowAdapter } from "./adapters.js";
import { describeConformance } from "./kit.js";

describeConformance(serviceNowAdapter);
