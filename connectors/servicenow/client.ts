import { z } from "@hono/zod-openapi";
import {
  type ChangedPage,
  type ClientDeps,
  createHttpClient,
  createOrLink,
  defaultRetryPolicy,
  defaultTimeoutMs,
  type ExternalRef,
  findOwnWrite,
  HttpError,
  type HttpResponse,
  nextChangedCursor,
  parseChangedCursor,
  parseLinkHeader,
  readBackWindowStart,
  type ServicedeskClient,
} from "../sdk/index.js";
import {
  ChangedIncident,
  changedIncidentFields,
  IncidentRecord,
  IncidentRef,
  incidentRecordFields,
  incidentRefFields,
  type JournalElement,
  JournalEntry,
  journalEntryFields,
  resultListOf,
  resultOf,
  SysUser,
  sysUserFields,
  TimeWorkedEntry,
  timeWorkedFields,
} from "./api-types.js";
import { integrationUserOf, type ServiceNowSettings } from "./config.js";
import {
  commentText,
  fromServiceNowDateTime,
  journalElementFor,
  normaliseJournalText,
  type ServiceNowMappingContext,
  toExternalTicket,
  toExternalWorklog,
  toIncidentCreateFields,
  toIncidentPatchFields,
  toServiceNowDateTime,
  toTimeWorkedFields,
} from "./mapping.js";

// Every call below is a Table API call:
// https://www.servicenow.com/docs/r/australia/api-reference/rest-apis/c_TableAPI.html

/** Rows per journal page; one incident rarely has more. */
const journalPageSize = 500;
/** Callers rarely change; clients live as long as the connection, so cached users expire. */
const callerCacheMs = 10 * 60_000;
/** Stops a Link header that never ends; 50 000 entries is beyond any real incident. */
const maxJournalPages = 100;
/** Pages a changed-since call may skip when ACLs empty them (sysparm_limit applies before ACLs). */
const maxAclFilteredPages = 20;
/** Instance and gateway clocks differ; the read-back window opens this much earlier. */
const readBackClockSkewMs = 30_000;
/** Values we embed in encoded queries; `^` or `,` would change the query's meaning. */
const safeQueryValue = /^[A-Za-z0-9_.:-]+$/;
const sysIdPattern = /^[0-9a-f]{32}$/;

function assertSysId(externalId: string): void {
  if (!sysIdPattern.test(externalId))
    throw new TypeError(`not a ServiceNow sys_id: ${JSON.stringify(externalId)}`);
}

/** Creates the Table API client of one ServiceNow connection. */
export function createServiceNowClient(
  settings: ServiceNowSettings,
  deps: ClientDeps<ServiceNowMappingContext>,
): ServicedeskClient {
  const http = createHttpClient({
    baseUrl: settings.baseUrl,
    auth: settings.auth,
    fetch: deps.fetch,
    timeoutMs: deps.timeoutMs ?? defaultTimeoutMs,
    retry: deps.retry ?? defaultRetryPolicy,
    now: deps.now,
    maxResponseBytes: deps.maxResponseBytes,
  });
  const now = deps.now ?? (() => new Date());
  const ctx = deps.mapping;
  const tablePath = `/api/now/table/${settings.table}`;
  const integrationUser = integrationUserOf(settings);
  const instanceUrl = settings.baseUrl.replace(/\/+$/, "");
  const callers = new Map<string, { user: SysUser | null; readAtMs: number }>();

  const recordUrl = (sysId: string) => `${instanceUrl}/${settings.table}.do?sys_id=${sysId}`;
  const toRef = (record: IncidentRef, action: ExternalRef["action"]): ExternalRef => ({
    externalId: record.sys_id,
    externalKey: record.number,
    url: recordUrl(record.sys_id),
    updatedAt: fromServiceNowDateTime(record.sys_updated_on)!,
    action,
  });

  async function findByCorrelationId(canonicalId: string): Promise<IncidentRef | null> {
    // Table - GET /now/table/{tableName} with an encoded query on correlation_id.
    const response = await http.request({
      method: "GET",
      path: tablePath,
      query: {
        sysparm_query: `correlation_id=${canonicalId}^ORDERBYsys_created_on`,
        sysparm_fields: incidentRefFields,
        sysparm_limit: 1,
        sysparm_display_value: "false",
        sysparm_no_count: "true",
      },
      schema: resultListOf(IncidentRef),
    });
    return response.data.result[0] ?? null;
  }

  async function readRef(sysId: string): Promise<IncidentRef> {
    // Table - GET /now/table/{tableName}/{sys_id}
    const response = await http.request({
      method: "GET",
      path: `${tablePath}/${sysId}`,
      query: { sysparm_fields: incidentRefFields, sysparm_display_value: "false" },
      schema: resultOf(IncidentRef),
    });
    return response.data.result;
  }

  async function readJournal(
    sysId: string,
    element: JournalElement | null,
    since: Date | null,
  ): Promise<JournalEntry[]> {
    const conditions = [
      `element_id=${sysId}`,
      element === null ? "elementINcomments,work_notes" : `element=${element}`,
      ...(since === null ? [] : [`sys_created_on>=${toServiceNowDateTime(since)}`]),
      "ORDERBYsys_created_on",
    ];
    const entries: JournalEntry[] = [];
    for (let page = 0, offset = 0; page < maxJournalPages; page++, offset += journalPageSize) {
      // Journal entries live in sys_journal_field, read through the Table API:
      // https://www.servicenow.com/docs/r/australia/api-reference/web-services/retrieving-journal-entries.html
      const response: HttpResponse<{ result: JournalEntry[] }> = await http.request({
        method: "GET",
        path: "/api/now/table/sys_journal_field",
        query: {
          sysparm_query: conditions.join("^"),
          sysparm_fields: journalEntryFields,
          sysparm_limit: journalPageSize,
          sysparm_offset: offset,
          sysparm_display_value: "false",
        },
        schema: resultListOf(JournalEntry),
      });
      entries.push(...response.data.result);
      if (parseLinkHeader(response.headers.get("link"))["next"] === undefined) break;
    }
    return entries;
  }

  async function readCaller(sysId: string): Promise<SysUser | null> {
    const cached = callers.get(sysId);
    if (cached !== undefined && now().getTime() - cached.readAtMs < callerCacheMs) return cached.user;
    try {
      // Table - GET /now/table/sys_user/{sys_id}
      const response = await http.request({
        method: "GET",
        path: `/api/now/table/sys_user/${sysId}`,
        query: { sysparm_fields: sysUserFields, sysparm_display_value: "false" },
        schema: resultOf(SysUser),
      });
      callers.set(sysId, { user: response.data.result, readAtMs: now().getTime() });
      return response.data.result;
    } catch (error) {
      // A caller hidden by ACLs or deleted leaves the requester empty instead of failing the read.
      if (error instanceof HttpError && (error.status === 403 || error.status === 404)) {
        callers.set(sysId, { user: null, readAtMs: now().getTime() });
        return null;
      }
      throw error;
    }
  }

  async function readTimeWorked(sysId: string): Promise<TimeWorkedEntry[]> {
    const entries: TimeWorkedEntry[] = [];
    for (let page = 0, offset = 0; page < maxJournalPages; page++, offset += journalPageSize) {
      // Time Worked rows of the task, through the Table API (task_time_worked).
      // https://www.servicenow.com/docs/r/australia/platform-administration/time-configuration/c_TimeWorked.html
      const response: HttpResponse<{ result: TimeWorkedEntry[] }> = await http.request({
        method: "GET",
        path: "/api/now/table/task_time_worked",
        query: {
          sysparm_query: `task=${sysId}^ORDERBYsys_created_on`,
          sysparm_fields: timeWorkedFields,
          sysparm_limit: journalPageSize,
          sysparm_offset: offset,
          sysparm_display_value: "false",
        },
        schema: resultListOf(TimeWorkedEntry),
      });
      entries.push(...response.data.result);
      if (parseLinkHeader(response.headers.get("link"))["next"] === undefined) break;
    }
    return entries;
  }

  async function findOwnJournalEntry(
    sysId: string,
    element: JournalElement,
    text: string,
    since: Date,
  ): Promise<JournalEntry | null> {
    // The journal is read from the window's start on, so the entries need no time check here.
    const entries = await readJournal(sysId, element, readBackWindowStart(since, readBackClockSkewMs));
    return findOwnWrite(entries, {
      text: normaliseJournalText(text),
      textOf: (entry) => normaliseJournalText(entry.value),
      identity: integrationUser,
      authorOf: (entry) => entry.sys_created_by,
      since,
      clockSkewMs: readBackClockSkewMs,
    });
  }

  async function listChangedPage(query: string, limit: number): Promise<z.infer<typeof ChangedIncident>[]> {
    const items: z.infer<typeof ChangedIncident>[] = [];
    let offset = 0;
    for (let page = 0; page < maxAclFilteredPages && items.length < limit; page++) {
      const pageSize = limit - items.length;
      // Table - GET /now/table/{tableName}, paged with sysparm_offset/sysparm_limit and the Link header.
      const response = await http.request({
        method: "GET",
        path: tablePath,
        query: {
          sysparm_query: query,
          sysparm_fields: changedIncidentFields,
          sysparm_limit: pageSize,
          sysparm_offset: offset,
          sysparm_display_value: "false",
        },
        schema: resultListOf(ChangedIncident),
      });
      items.push(...response.data.result);
      // A short page with a next link means ACLs removed rows after the limit was applied.
      if (parseLinkHeader(response.headers.get("link"))["next"] === undefined) break;
      offset += pageSize;
    }
    return items;
  }

  return {
    async createTicket(input) {
      if (!safeQueryValue.test(input.canonicalId)) {
        throw new TypeError(
          `canonical id cannot be used in an encoded query: ${JSON.stringify(input.canonicalId)}`,
        );
      }
      const outcome = await createOrLink(
        () => findByCorrelationId(input.canonicalId),
        async () => {
          // Table - POST /now/table/{tableName}
          const response = await http.request({
            method: "POST",
            path: tablePath,
            query: { sysparm_fields: incidentRefFields, sysparm_display_value: "false" },
            body: toIncidentCreateFields(input, settings, ctx),
            schema: resultOf(IncidentRef),
          });
          return response.data.result;
        },
      );
      return toRef(outcome.record, outcome.action);
    },

    async updateTicket(externalId, patch) {
      assertSysId(externalId);
      const fields = toIncidentPatchFields(patch, settings, ctx);
      if (Object.keys(fields).length === 0) return toRef(await readRef(externalId), "updated");
      // Table - PATCH /now/table/{tableName}/{sys_id}
      const response = await http.request({
        method: "PATCH",
        path: `${tablePath}/${externalId}`,
        query: { sysparm_fields: incidentRefFields, sysparm_display_value: "false" },
        body: fields,
        schema: resultOf(IncidentRef),
        // Plain field values: writing them twice leaves the same record. Journal fields never go through here.
        idempotent: true,
      });
      return toRef(response.data.result, "updated");
    },

    async getTicket(externalId) {
      assertSysId(externalId);
      // Table - GET /now/table/{tableName}/{sys_id}
      const response = await http.request({
        method: "GET",
        path: `${tablePath}/${externalId}`,
        query: { sysparm_fields: incidentRecordFields, sysparm_display_value: "false" },
        schema: resultOf(IncidentRecord),
      });
      const record = response.data.result;
      const callerId = record.caller_id ?? null;
      const [journal, caller] = await Promise.all([
        readJournal(externalId, null, null),
        callerId === null ? Promise.resolve(null) : readCaller(callerId),
      ]);
      return toExternalTicket({ record, journal, caller, recordUrl: recordUrl(externalId), settings, ctx });
    },

    async addComment(externalId, comment, opts) {
      assertSysId(externalId);
      const element = journalElementFor(comment.visibility, settings);
      const text = commentText(comment);
      if (opts.attempt > 1) {
        const existing = await findOwnJournalEntry(externalId, element, text, opts.since);
        if (existing !== null) return { externalId: existing.sys_id };
      }
      const writeStartedAt = now();
      // Table - PATCH /now/table/{tableName}/{sys_id}; a journal field value is appended as a new entry.
      const response = await http.request({
        method: "PATCH",
        path: `${tablePath}/${externalId}`,
        query: { sysparm_fields: incidentRefFields, sysparm_display_value: "false" },
        body: { [element]: text },
        schema: resultOf(IncidentRef),
        idempotent: false,
      });
      // The PATCH response does not name the journal entry it created, so look it up.
      const written = await findOwnJournalEntry(externalId, element, text, writeStartedAt).catch(() => null);
      return {
        externalId: written?.sys_id ?? `${externalId}/${element}@${response.data.result.sys_updated_on}`,
      };
    },

    async listWorklogs(externalId) {
      assertSysId(externalId);
      return (await readTimeWorked(externalId)).map(toExternalWorklog);
    },

    async addWorklog(externalId, worklog, opts) {
      assertSysId(externalId);
      const fields = toTimeWorkedFields(externalId, worklog);
      if (opts.attempt > 1) {
        // The row has no place for our id: an earlier attempt's row is ours, with the same text and time.
        const landed = findOwnWrite(await readTimeWorked(externalId), {
          text: fields.comments,
          textOf: (entry) => entry.comments,
          identity: integrationUser,
          authorOf: (entry) => entry.sys_created_by,
          // ServiceNow stamps whole seconds: the window starts at the second of the first attempt.
          since: new Date(Math.floor(opts.since.getTime() / 1000) * 1000),
          clockSkewMs: readBackClockSkewMs,
          createdAtMs: (entry) => Date.parse(fromServiceNowDateTime(entry.sys_created_on) ?? ""),
          also: (entry) => entry.time_worked === fields.time_worked,
        });
        if (landed) return { externalId: landed.sys_id };
      }
      // Table - POST /now/table/task_time_worked; the platform adds it to the task's Time worked.
      const response = await http.request({
        method: "POST",
        path: "/api/now/table/task_time_worked",
        query: { sysparm_fields: timeWorkedFields, sysparm_display_value: "false" },
        body: fields,
        schema: resultOf(TimeWorkedEntry),
      });
      return { externalId: response.data.result.sys_id };
    },

    async listChangedSince(cursor, limit): Promise<ChangedPage> {
      if (!Number.isInteger(limit) || limit < 1)
        throw new RangeError(`limit must be a positive integer, got ${limit}`);
      const parsed = parseChangedCursor(cursor, {
        isKey: (key) => sysIdPattern.test(key),
        vendor: "ServiceNow",
      });
      // Encoded queries compare instance date-times, whole seconds in UTC.
      const position = {
        since: parsed === null ? null : toServiceNowDateTime(new Date(parsed.sinceMs)),
        afterSysId: parsed?.afterKey ?? null,
      };
      const scope = settings.inboundQuery === undefined ? "" : `^${settings.inboundQuery}`;
      const order = "^ORDERBYsys_updated_on^ORDERBYsys_id";
      const items: z.infer<typeof ChangedIncident>[] = [];
      if (position.since !== null && position.afterSysId !== null) {
        // Inside a second that held more than a page: walk it by sys_id, then continue after it.
        items.push(
          ...(await listChangedPage(
            `sys_updated_on=${position.since}^sys_id>${position.afterSysId}${scope}^ORDERBYsys_id`,
            limit,
          )),
        );
        if (items.length < limit) {
          items.push(
            ...(await listChangedPage(
              `sys_updated_on>${position.since}${scope}${order}`,
              limit - items.length,
            )),
          );
        }
      } else {
        const from = position.since === null ? "" : `sys_updated_on>=${position.since}`;
        items.push(...(await listChangedPage(`${from}${scope}${order}`.replace(/^\^/, ""), limit)));
      }

      const nextCursor = nextChangedCursor(
        items,
        limit,
        (item) => ({ updatedAt: fromServiceNowDateTime(item.sys_updated_on)!, key: item.sys_id }),
        cursor,
      );
      return {
        items: items.map((item) => ({
          externalId: item.sys_id,
          updatedAt: fromServiceNowDateTime(item.sys_updated_on)!,
        })),
        nextCursor,
      };
    },

    async matchesInboundQuery(externalId) {
      assertSysId(externalId);
      if (settings.inboundQuery === undefined) return true;
      // Table - GET /now/table/{tableName} with the record's sys_id ANDed to the connection's query.
      const response = await http.request({
        method: "GET",
        path: tablePath,
        query: {
          sysparm_query: `sys_id=${externalId}^${settings.inboundQuery}`,
          sysparm_fields: "sys_id",
          sysparm_limit: 1,
          sysparm_no_count: "true",
        },
        schema: resultListOf(z.object({ sys_id: z.string() })),
      });
      return response.data.result.length > 0;
    },

    async testConnection() {
      try {
        // Table - GET /now/table/{tableName}: proves URL, credentials and read access to the table.
        await http.request({
          method: "GET",
          path: tablePath,
          query: { sysparm_fields: "sys_id", sysparm_limit: 1, sysparm_no_count: "true" },
          schema: resultListOf(z.object({ sys_id: z.string() })),
        });
        // Comments are read from sys_journal_field, which many instances do not open to itil.
        await http.request({
          method: "GET",
          path: "/api/now/table/sys_journal_field",
          query: { sysparm_fields: "sys_id", sysparm_limit: 1, sysparm_no_count: "true" },
          schema: resultListOf(z.object({ sys_id: z.string() })),
        });
        return {
          ok: true,
          detail: `read ${settings.table} and sys_journal_field as ${integrationUser ?? "the configured credentials"}`,
        };
      } catch (error) {
        if (error instanceof HttpError) {
          return {
            ok: false,
            detail: `${error.message}${error.status === 401 ? " (check the credentials)" : ""}`,
          };
        }
        return { ok: false, detail: error instanceof Error ? error.message : String(error) };
      }
    },
  };
}
