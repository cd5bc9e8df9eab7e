// The deployment files: deploy/compose.yaml against the Compose specification's JSON schema (as shipped by
// dclint) and dclint's own rules; every Kubernetes object in the Kustomize base against its schema
// (kubernetes-models); and both carry every setting src/config.ts reads.

import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import * as apps from "kubernetes-models/apps/v1";
import * as batch from "kubernetes-models/batch/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as core from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { envVariableNames } from "../src/config.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
// SMTP_URL (email event subscriptions, carries the SMTP credentials) and METRICS_TOKEN are optional.
const secretNames = [
  "DATABASE_URL",
  "GATEWAY_ADMIN_TOKEN",
  "LEDGER_SIGNING_KEY",
  "METRICS_TOKEN",
  "SECRETS_KEY",
  "SMTP_URL",
];

// biome-ignore lint/suspicious/noExplicitAny: manifests are untyped YAML, checked field by field below
type Json = any;

describe("deploy/compose.yaml", () => {
  const text = readFileSync(join(root, "deploy/compose.yaml"), "utf8");
  const compose: Json = parse(text, { merge: true });

  it("validates against the Compose specification's JSON schema", () => {
    const schemaFile = join(dirname(require.resolve("dclint/package.json")), "schemas/compose.schema.json");
    const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: false, validateFormats: false });
    const validate = ajv.compile(JSON.parse(readFileSync(schemaFile, "utf8")));
    expect(validate(compose), JSON.stringify(validate.errors, null, 2)).toBe(true);
    const broken = structuredClone(compose);
    broken.services.worker.restart_policy = "always";
    expect(validate(broken), "the schema is live: a misspelt service key fails").toBe(false);
  });

  it("passes dclint's rules", () => {
    const bin = join(dirname(require.resolve("dclint/package.json")), "bin/dclint.cjs");
    execFileSync(process.execPath, [bin, join(root, "deploy/compose.yaml")], { stdio: "pipe" });
  });

  it("runs PostgreSQL, migrations once, two API processes without workers and two workers", () => {
    const services = compose.services;
    expect(Object.keys(services).sort()).toEqual(["api-1", "api-2", "migrate", "postgres", "worker"]);
    expect(services.migrate.command).toEqual(["node", "dist/src/db/migrate-cli.js"]);
    expect(services.migrate.restart).toBe("no");
    for (const api of ["api-1", "api-2"]) {
      expect(services[api].environment.RUN_WORKER).toBe("false");
      expect(services[api].depends_on.migrate.condition).toBe("service_completed_successfully");
      expect(services[api].read_only).toBe(true);
    }
    expect(services.worker.command).toEqual(["node", "dist/src/worker-main.js"]);
    expect(services.worker.deploy.replicas).toBe(2);
  });

  it("carries every setting src/config.ts reads", () => {
    for (const name of ["api-1", "worker", "migrate"]) {
      const missing = envVariableNames.filter((v) => !(v in compose.services[name].environment));
      expect(missing, name).toEqual([]);
    }
  });
});

const base = join(root, "deploy/k8s/base");
const models: Record<string, Record<string, new (data: Json) => { validate(): void }>> = {
  "apps/v1": apps as Json,
  "batch/v1": batch as Json,
  "policy/v1": policy as Json,
  v1: core as Json,
};

describe("deploy/k8s/base", () => {
  const kustomization: Json = parse(readFileSync(join(base, "kustomization.yaml"), "utf8"));
  const objects: Json[] = (kustomization.resources as string[]).flatMap((file) =>
    parseAllDocuments(readFileSync(join(base, file), "utf8")).map((doc) => doc.toJS()),
  );
  const byKind = (kind: string) => objects.filter((o) => o.kind === kind);

  it("lists every manifest in the folder in kustomization.yaml", () => {
    const files = readdirSync(base).filter((f) => f !== "kustomization.yaml");
    expect([...kustomization.resources].sort()).toEqual(files.sort());
  });

  it("has objects that each validate against their Kubernetes schema", () => {
    for (const object of objects) {
      const Model = models[object.apiVersion]?.[object.kind];
      expect(Model, `${object.apiVersion} ${object.kind}`).toBeDefined();
      expect(() => new Model!(object).validate(), `${object.kind} ${object.metadata.name}`).not.toThrow();
    }
    const broken = structuredClone(byKind("Deployment")[0]);
    broken.spec.replicas = "two";
    expect(() => new apps.Deployment(broken).validate(), "the validation is live").toThrow();
  });

  it("has the API Deployment, worker Deployment, migration Job, Service and a PDB per Deployment", () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      "ConfigMap/ticket-sync-gateway-config",
      "Deployment/ticket-sync-gateway-api",
      "Deployment/ticket-sync-gateway-worker",
      "Job/ticket-sync-gateway-migrate",
      "PodDisruptionBudget/ticket-sync-gateway-api",
      "PodDisruptionBudget/ticket-sync-gateway-worker",
      "Service/ticket-sync-gateway",
    ]);
    for (const deployment of byKind("Deployment")) {
      const labels = deployment.spec.selector.matchLabels;
      expect(deployment.spec.template.metadata.labels).toMatchObject(labels);
      const pdb = byKind("PodDisruptionBudget").find(
        (p) => JSON.stringify(p.spec.selector.matchLabels) === JSON.stringify(labels),
      );
      expect(pdb, `a PodDisruptionBudget for ${deployment.metadata.name}`).toBeDefined();
    }
    const api = byKind("Deployment").find((d) => d.metadata.name.endsWith("-api"));
    const container = api.spec.template.spec.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe("/readyz");
    expect(container.env.find((e: Json) => e.name === "RUN_WORKER").value).toBe("false");
    const service = byKind("Service")[0];
    expect(api.spec.template.metadata.labels).toMatchObject(service.spec.selector);
  });

  const workloads = () =>
    objects
      .filter((o) => o.kind === "Deployment" || o.kind === "Job")
      .map((o) => ({ name: o.metadata.name as string, pod: o.spec.template.spec }));

  it("gives every container resource requests, a non-root user and a read-only root filesystem", () => {
    for (const { name, pod } of workloads()) {
      expect(pod.securityContext.runAsNonRoot, name).toBe(true);
      for (const container of pod.containers) {
        expect(container.resources.requests, name).toMatchObject({ cpu: expect.any(String) });
        expect(container.resources.requests.memory, name).toBeDefined();
        expect(container.securityContext.readOnlyRootFilesystem, name).toBe(true);
      }
    }
  });

  it("carries every setting src/config.ts reads, the secrets by reference only", () => {
    expect(byKind("Secret"), "no Secret in the base").toEqual([]);
    const configMap = byKind("ConfigMap")[0];
    for (const { name, pod } of workloads()) {
      const container = pod.containers[0];
      expect(container.envFrom[0].configMapRef.name).toBe(configMap.metadata.name);
      const fromSecret = container.env
        .filter((e: Json) => e.valueFrom?.secretKeyRef)
        .map((e: Json) => e.name)
        .sort();
      expect(fromSecret, name).toEqual([...secretNames].sort());
      const carried = new Set([
        ...Object.keys(configMap.data),
        ...container.env.map((e: Json) => e.name as string),
      ]);
      expect(
        envVariableNames.filter((v) => !carried.has(v)),
        name,
      ).toEqual([]);
    }
    for (const secret of secretNames) expect(configMap.data, secret).not.toHaveProperty(secret);
  });
});
