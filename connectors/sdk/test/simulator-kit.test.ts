import { afterEach, describe, expect, it } from "vitest";
import { loopbackServers } from "../testing/loopback.js";
import {
  type CommonFault,
  createSimulatorKit,
  type DeliveryOutcome,
  isBasic,
  readCredentials,
} from "../testing/simulator-kit.js";

const servers = loopbackServers();
afterEach(() => servers.closeAll());

interface Target {
  url: string;
}

describe("simulator kit", () => {
  it("delivers to the target set after construction, and settled() waits for the outcome", async () => {
    const received: string[] = [];
    const url = await servers.listen(async (request) => {
      received.push(await request.text());
      await new Promise((resolve) => setTimeout(resolve, 50));
      return new Response(null, { status: 202 });
    });
    const options: { webhook?: Target } = {};
    const kit = createSimulatorKit<CommonFault, never, Target>(options);
    expect(kit.webhookTarget()).toBeUndefined();

    // As a test does once the gateway's connection exists: on the options object, and through the kit.
    options.webhook = { url: `${url}/first` };
    const outcomes: DeliveryOutcome[] = [];
    kit.deliver(kit.webhookTarget()!.url, { method: "POST", body: "one" }, (outcome) =>
      outcomes.push(outcome),
    );
    kit.setWebhookTarget({ url: `${url}/second` });
    expect(options.webhook).toEqual({ url: `${url}/second` });
    kit.deliver(kit.webhookTarget()!.url, { method: "POST", body: "two" }, (outcome) =>
      outcomes.push(outcome),
    );
    kit.deliver("http://127.0.0.1:1/closed", { method: "POST" }, (outcome) => outcomes.push(outcome));

    expect(outcomes).toEqual([]);
    await kit.settled();
    expect(received.sort()).toEqual(["one", "two"]);
    expect(outcomes).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome.status === 202)).toHaveLength(2);
    expect(outcomes.find((outcome) => outcome.status === null)?.error).toEqual(expect.any(String));
  });

  it("uses a fault `times` times, only for requests it matches, and keeps webhook faults apart", () => {
    const kit = createSimulatorKit<CommonFault, never>({});
    kit.faults.push(
      { kind: "drop-webhooks", times: 1 },
      { kind: "status", status: 503, times: 2, match: { method: "PATCH", pathIncludes: "/records/" } },
    );
    expect(kit.takeRequestFault("GET", "/api/records/1")).toBeNull();
    expect(kit.takeRequestFault("PATCH", "/api/records/1")?.kind).toBe("status");
    expect(kit.takeRequestFault("PATCH", "/api/records/2")?.kind).toBe("status");
    expect(kit.takeRequestFault("PATCH", "/api/records/3")).toBeNull();
    expect(kit.dropWebhook()).toBe(true);
    expect(kit.dropWebhook()).toBe(false);
    expect(kit.faults).toEqual([]);
  });

  it("delivers one at a time in order when asked, even after a failed delivery", async () => {
    const received: string[] = [];
    const url = await servers.listen(async (request) => {
      const body = await request.text();
      // The first answers last if deliveries overlap.
      await new Promise((resolve) => setTimeout(resolve, body === "1" ? 80 : 5));
      received.push(body);
      return new Response(null, { status: 204 });
    });
    const kit = createSimulatorKit<CommonFault, never>({}, { ordered: true });
    const outcomes: (number | null)[] = [];
    kit.deliver(url, { method: "POST", body: "1" }, (outcome) => outcomes.push(outcome.status));
    kit.deliver("http://127.0.0.1:1/closed", { method: "POST" }, (outcome) => outcomes.push(outcome.status));
    kit.deliver(url, { method: "POST", body: "2" }, (outcome) => outcomes.push(outcome.status));
    await kit.settled();
    expect(received).toEqual(["1", "2"]);
    expect(outcomes).toEqual([204, null, 204]);
  });

  it("drops deliveries with the vendor's own fault kind, and settled() waits for tracked work", async () => {
    type Fault = CommonFault | { kind: "drop-events"; times: number };
    const kit = createSimulatorKit<Fault, never>({}, { dropKind: "drop-events" });
    kit.faults.push({ kind: "drop-events", times: 1 }, { kind: "drop-webhooks", times: 1 });
    // A kind the kit does not drop with is a request fault like any other.
    expect(kit.takeRequestFault("GET", "/x")?.kind).toBe("drop-webhooks");
    expect(kit.takeRequestFault("GET", "/x")).toBeNull();
    expect(kit.dropWebhook()).toBe(true);
    expect(kit.dropWebhook()).toBe(false);

    let done = false;
    kit.track(new Promise((resolve) => setTimeout(resolve, 30)).then(() => (done = true)));
    await kit.settled();
    expect(done).toBe(true);
  });

  it("records exchanges in order and hands back the entry to complete later", () => {
    const kit = createSimulatorKit<CommonFault, { path: string; status: number }>({});
    const first = kit.record({ path: "/a", status: 0 });
    kit.record({ path: "/b", status: 0 });
    first.status = 201;
    expect(kit.exchanges).toEqual([
      { path: "/a", status: 201 },
      { path: "/b", status: 0 },
    ]);
  });

  it("reads Basic credentials whose password holds colons, and Bearer tokens", () => {
    const basic = `Basic ${Buffer.from("agent@example.com/token:se:cret").toString("base64")}`;
    expect(readCredentials(basic)).toEqual({
      scheme: "basic",
      username: "agent@example.com/token",
      password: "se:cret",
    });
    expect(readCredentials("Bearer abc.def")).toEqual({ scheme: "bearer", token: "abc.def" });
    expect(readCredentials(undefined)).toBeNull();
    expect(readCredentials("Digest x")).toBeNull();
    expect(isBasic(basic, "agent@example.com/token", "se:cret")).toBe(true);
    expect(isBasic(basic, "agent@example.com/token", "se")).toBe(false);
    expect(isBasic("Bearer se:cret", "agent@example.com/token", "se:cret")).toBe(false);
  });
});
