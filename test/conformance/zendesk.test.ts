import { zendeskAdapter } from "./adapters.js";
import { describeConformance } from "./kit.js";

describeConformance(zendeskAdapter);
