import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import type { MiddlewareHandler } from "hono";
import type { TracingSettings } from "../config.js";

/**
 * OpenTelemetry tracing, off unless configured: then the SDK is imported (never otherwise), registered as
 * the global provider, and spans cover HTTP requests, job runs (continuing the trace of the request that
 * enqueued the job, through the job's stored W3C traceparent) and vendor calls. Off, every helper here
 * returns at its first line.
 */
let enabled = false;

const tracer = () => trace.getTracer("ticket-sync-gateway");

export function tracingEnabled(): boolean {
  return enabled;
}

export interface RunningTracing {
  /** Flushes pending spans and unregisters the provider. */
  shutdown(): Promise<void>;
}

/**
 * Starts tracing when `settings.enabled` (OTLP over HTTP, or the console exporter), or with the given span
 * processors (tests pass an in-memory exporter's). The exporter reads the standard OTEL_EXPORTER_OTLP_*
 * variables (endpoint, headers, timeout) and the provider OTEL_TRACES_SAMPLER(_ARG) itself.
 */
export async function startTracing(
  settings: TracingSettings,
  options: { spanProcessors?: import("@opentelemetry/sdk-trace-node").SpanProcessor[] } = {},
): Promise<RunningTracing | null> {
  if (!settings.enabled && !options.spanProcessors) return null;
  const sdk = await import("@opentelemetry/sdk-trace-node");
  const { detectResources, envDetector, resourceFromAttributes } = await import("@opentelemetry/resources");
  let spanProcessors = options.spanProcessors;
  if (!spanProcessors) {
    const exporter =
      settings.exporter === "console"
        ? new sdk.ConsoleSpanExporter()
        : new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
    spanProcessors = [new sdk.BatchSpanProcessor(exporter)];
  }
  // OTEL_RESOURCE_ATTRIBUTES adds attributes; OTEL_SERVICE_NAME (default ticket-sync-gateway) names the service.
  const resource = detectResources({ detectors: [envDetector] }).merge(
    resourceFromAttributes({ "service.name": settings.serviceName }),
  );
  const provider = new sdk.NodeTracerProvider({ resource, spanProcessors });
  // Registers the provider globally with the AsyncLocalStorage context manager and the W3C propagator.
  provider.register();
  enabled = true;
  return {
    shutdown: async () => {
      enabled = false;
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** Runs `fn` inside a span (a child of `parent`, else of the active span); without tracing, just `fn`. */
export function inSpan<T>(
  name: string,
  options: { kind: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span | null) => Promise<T>,
): Promise<T> {
  if (!enabled) return fn(null);
  return tracer().startActiveSpan(
    name,
    { kind: options.kind, ...(options.attributes ? { attributes: options.attributes } : {}) },
    options.parent ?? context.active(),
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        // The error's name only: messages can quote vendor answers or SQL parameters.
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.name : "error",
        });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** The W3C traceparent of the active span, to store with work that continues elsewhere (a job row). */
export function activeTraceparent(): string | null {
  if (!enabled) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier["traceparent"] ?? null;
}

/** The context a stored traceparent names (a fresh root when there is none). */
export function contextOfTraceparent(traceparent: string | null): Context {
  return traceparent ? propagation.extract(ROOT_CONTEXT, { traceparent }) : ROOT_CONTEXT;
}

/**
 * A server span per request, named by its route pattern. Incoming traceparent headers are not followed:
 * the callers are vendors on the internet, whose trace ids and sampling flags mean nothing here.
 */
export function traceRequests(): MiddlewareHandler {
  return async (c, next) => {
    if (!enabled) return next();
    const method = c.req.method;
    await inSpan(
      method,
      { kind: SpanKind.SERVER, attributes: { "http.request.method": method }, parent: ROOT_CONTEXT },
      async (span) => {
        await next();
        const route = c.req.routePath;
        span?.updateName(`${method} ${route}`);
        span?.setAttributes({ "http.route": route, "http.response.status_code": c.res.status });
        if (c.res.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
      },
    );
  };
}

export { SpanKind };
