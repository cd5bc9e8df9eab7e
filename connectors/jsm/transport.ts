import { createHash, randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { PermanentHttpError } from "../sdk/index.js";

// The `fetch` the SDK http client is built on for a JSM connection. It adds two things the SDK
// cannot do per vendor, so auth, retries, timeouts and error classes stay the SDK's:
//  - a pause while Atlassian reports `X-RateLimit-Remaining: 0`, until `X-RateLimit-Reset`;
//  - streamed multipart uploads: the SDK sends JSON, so an upload request carries a marker
//    header and this fetch swaps in the multipart body, hashing and counting bytes as they pass.
// https://developer.atlassian.com/cloud/jira/platform/rate-limiting/

/** Marks the request that carries a registered upload; never sent to Jira. */
const uploadHeader = "x-ticket-sync-upload";
/** Marks a download whose body is handed over as a stream instead of being read by the SDK client; never sent. */
const downloadHeader = "x-ticket-sync-download";

/** A file to upload. `open` is called once per HTTP attempt, so a retry re-reads the source. */
export interface UploadSource {
  fileName: string;
  contentType: string | null;
  open(): ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;
}

/** What one upload attempt streamed. */
export interface UploadStats {
  sizeBytes: number;
  sha256: string;
}

/** A registered upload: pass `headers` with the request, read `stats()` after it. */
export interface PreparedUpload {
  headers: Record<string, string>;
  /** Stats of the last attempt that streamed the whole file, or null. */
  stats(): UploadStats | null;
  /** True when the file was cut off at the size cap. */
  tooLarge(): boolean;
  dispose(): void;
}

export interface JiraTransportOptions {
  fetch?: typeof fetch;
  now: () => Date;
  /** Longest pause for a rate-limit reset; longer resets are left to the retry policy. */
  maxPauseMs: number;
  /** Per upload attempt; the SDK's per-request timeout is too short for files. */
  uploadTimeoutMs: number;
  maxUploadBytes: number;
}

/** A registered download: pass `headers` with the request; `take()` the streamed response after it. */
export interface PreparedDownload {
  headers: Record<string, string>;
  /** The successful response of the request, its body unread; null when none arrived. */
  take(): Response | null;
  dispose(): void;
}

export interface JiraTransport {
  fetch: typeof fetch;
  prepareUpload(source: UploadSource): PreparedUpload;
  /**
   * Lets a request made through the SDK client (auth, retries and error classes stay the SDK's) stream its
   * body: a 2xx response is kept for `take()` and the SDK client sees an empty 204.
   */
  prepareDownload(): PreparedDownload;
}

/** Thrown when an upload exceeds `maxAttachmentBytes`; permanent, the engine does not retry it. */
export class AttachmentTooLargeError extends PermanentHttpError {}

interface UploadEntry {
  source: UploadSource;
  stats: UploadStats | null;
  tooLarge: boolean;
}

export function createJiraTransport(options: JiraTransportOptions): JiraTransport {
  let pausedUntilMs = 0;
  const uploads = new Map<string, UploadEntry>();
  const downloads = new Map<string, { response: Response | null }>();

  async function waitForRateLimit(): Promise<void> {
    const waitMs = pausedUntilMs - options.now().getTime();
    if (waitMs <= 0) return;
    pausedUntilMs = 0;
    await sleep(Math.min(waitMs, options.maxPauseMs));
  }

  function recordRateLimit(headers: Headers): void {
    const remaining = headers.get("x-ratelimit-remaining");
    const reset = headers.get("x-ratelimit-reset");
    if (remaining === null || reset === null || Number(remaining) > 0) return;
    // Atlassian sends the reset as an ISO-8601 instant, e.g. 2024-05-01T10:01Z.
    const resetAtMs = Date.parse(reset);
    if (!Number.isNaN(resetAtMs)) pausedUntilMs = Math.max(pausedUntilMs, resetAtMs);
  }

  const transportFetch: typeof fetch = async (input, init) => {
    await waitForRateLimit();
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const headers = new Headers(init?.headers);
    const uploadId = headers.get(uploadHeader);
    const downloadId = headers.get(downloadHeader);
    let requestInit = init;
    if (downloadId !== null) {
      const entry = downloads.get(downloadId);
      if (entry === undefined) throw new Error(`no download registered under ${downloadId}`);
      headers.delete(downloadHeader);
      headers.set("accept", "*/*");
      // The body is read after this call returns: the SDK's per-request timeout would cut it off.
      const response = await fetchImpl(input, {
        ...init,
        headers,
        signal: AbortSignal.timeout(options.uploadTimeoutMs),
      });
      recordRateLimit(response.headers);
      if (!response.ok || response.body === null) return response;
      await entry.response?.body?.cancel();
      entry.response = response;
      return new Response(null, { status: 204 });
    }
    if (uploadId !== null) {
      const entry = uploads.get(uploadId);
      if (entry === undefined) throw new Error(`no upload registered under ${uploadId}`);
      const boundary = `----ticket-sync-${randomBytes(12).toString("hex")}`;
      headers.delete(uploadHeader);
      headers.delete("content-length");
      headers.set("content-type", `multipart/form-data; boundary=${boundary}`);
      // Multipart endpoints are XSRF-protected; this header opts out, as Atlassian documents.
      headers.set("x-atlassian-token", "no-check");
      requestInit = {
        ...init,
        headers,
        body: multipartBody(entry, boundary, options.maxUploadBytes),
        signal: AbortSignal.timeout(options.uploadTimeoutMs),
        duplex: "half",
      } as RequestInit;
    }
    const response = await fetchImpl(input, requestInit);
    recordRateLimit(response.headers);
    return response;
  };

  return {
    fetch: transportFetch,
    prepareUpload(source) {
      const id = randomBytes(8).toString("hex");
      const entry: UploadEntry = { source, stats: null, tooLarge: false };
      uploads.set(id, entry);
      return {
        headers: { [uploadHeader]: id },
        stats: () => entry.stats,
        tooLarge: () => entry.tooLarge,
        dispose: () => uploads.delete(id),
      };
    },
    prepareDownload() {
      const id = randomBytes(8).toString("hex");
      const entry: { response: Response | null } = { response: null };
      downloads.set(id, entry);
      return {
        headers: { [downloadHeader]: id },
        take: () => {
          const response = entry.response;
          entry.response = null;
          return response;
        },
        dispose: () => {
          downloads.delete(id);
          void entry.response?.body?.cancel().catch(() => undefined);
        },
      };
    },
  };
}

/** `"` and line breaks are percent-encoded in multipart names, as browsers do (WHATWG HTML). */
function quotedFileName(fileName: string): string {
  return fileName.replace(/"/g, "%22").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** The multipart body as a stream: part header, the file's chunks (hashed and counted), closing boundary. */
function multipartBody(entry: UploadEntry, boundary: string, maxBytes: number): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  const head = encoder.encode(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quotedFileName(entry.source.fileName)}"\r\n` +
      `Content-Type: ${entry.source.contentType ?? "application/octet-stream"}\r\n\r\n`,
  );
  const tail = encoder.encode(`\r\n--${boundary}--\r\n`);
  const hash = createHash("sha256");
  let sizeBytes = 0;
  let chunks: AsyncIterator<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(head);
    },
    async pull(controller) {
      chunks ??= toIterator(entry.source.open());
      const { value, done } = await chunks.next();
      if (done) {
        entry.stats = { sizeBytes, sha256: hash.digest("hex") };
        controller.enqueue(tail);
        controller.close();
        return;
      }
      sizeBytes += value.byteLength;
      if (sizeBytes > maxBytes) {
        entry.tooLarge = true;
        await chunks.return?.();
        controller.error(new RangeError(`attachment exceeds ${maxBytes} bytes`));
        return;
      }
      hash.update(value);
      controller.enqueue(value);
    },
    async cancel() {
      await chunks?.return?.();
    },
  });
}

function toIterator(
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncIterator<Uint8Array> {
  if (Symbol.asyncIterator in source) return (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  const reader = (source as ReadableStream<Uint8Array>).getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}
