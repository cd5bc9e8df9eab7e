import { jsmConformanceAdapter } from "../../connectors/jsm/test/conformance-adapter.js";
import { describeConformance } from "./kit.js";

describeConformance(jsmConformanceAdapter);
