// The subset of JQL the JSM simulator evaluates: AND / OR / NOT and parentheses; =, !=, ~, !~,
// >, >=, <, <=, IN, NOT IN, IS [NOT] EMPTY; currentUser(); date literals in the searching
// user's zone and relative dates (-15m); ORDER BY. Anything else is a 400, as a mistake should be.
// https://support.atlassian.com/jira-service-management-cloud/docs/use-advanced-search-with-jira-query-language-jql/

export class JqlError extends Error {}

type Token =
  | { kind: "word"; text: string }
  | { kind: "string"; text: string }
  | { kind: "op"; text: string }
  | { kind: "punct"; text: "(" | ")" | "," };

export type JqlValue =
  | { kind: "literal"; text: string }
  | { kind: "function"; name: string }
  | { kind: "empty" }
  | { kind: "list"; items: JqlValue[] };

export type JqlExpression =
  | { kind: "and" | "or"; parts: JqlExpression[] }
  | { kind: "not"; part: JqlExpression }
  | { kind: "clause"; field: string; operator: string; value: JqlValue };

export interface JqlQuery {
  where: JqlExpression | null;
  orderBy: { field: string; descending: boolean }[];
}

function tokenize(jql: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < jql.length) {
    const char = jql[at]!;
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    if (char === '"' || char === "'") {
      let text = "";
      at++;
      while (at < jql.length && jql[at] !== char) {
        if (jql[at] === "\\" && at + 1 < jql.length) {
          text += jql[at + 1];
          at += 2;
        } else text += jql[at++];
      }
      if (at >= jql.length) throw new JqlError("Error in the JQL Query: unterminated string.");
      at++;
      tokens.push({ kind: "string", text });
      continue;
    }
    if (char === "(" || char === ")" || char === ",") {
      tokens.push({ kind: "punct", text: char });
      at++;
      continue;
    }
    const operator = /^(!=|>=|<=|!~|=|~|>|<)/.exec(jql.slice(at));
    if (operator !== null) {
      tokens.push({ kind: "op", text: operator[0] });
      at += operator[0].length;
      continue;
    }
    const word = /^(cf\[\d+\]|[A-Za-z0-9_.:\-/]+)/.exec(jql.slice(at));
    if (word === null)
      throw new JqlError(`Error in the JQL Query: The character '${char}' is a reserved JQL character.`);
    tokens.push({ kind: "word", text: word[0] });
    at += word[0].length;
  }
  return tokens;
}

/** Parses a JQL query of the supported subset. */
export function parseJql(jql: string): JqlQuery {
  const tokens = tokenize(jql);
  let at = 0;
  const peekWord = (...words: string[]) => {
    const token = tokens[at];
    return token?.kind === "word" && words.includes(token.text.toUpperCase());
  };
  const expectPunct = (text: string) => {
    const token = tokens[at];
    if (token?.kind !== "punct" || token.text !== text)
      throw new JqlError(`Error in the JQL Query: Expecting '${text}'.`);
    at++;
  };

  function value(): JqlValue {
    const token = tokens[at];
    if (token === undefined) throw new JqlError("Error in the JQL Query: Expecting a value.");
    if (token.kind === "punct" && token.text === "(") {
      at++;
      const items: JqlValue[] = [value()];
      while (tokens[at]?.kind === "punct" && tokens[at]!.text === ",") {
        at++;
        items.push(value());
      }
      expectPunct(")");
      return { kind: "list", items };
    }
    at++;
    if (token.kind === "string") return { kind: "literal", text: token.text };
    if (token.kind === "word") {
      if (token.text.toUpperCase() === "EMPTY" || token.text.toUpperCase() === "NULL")
        return { kind: "empty" };
      if (tokens[at]?.kind === "punct" && tokens[at]!.text === "(") {
        at++;
        expectPunct(")");
        return { kind: "function", name: token.text };
      }
      return { kind: "literal", text: token.text };
    }
    throw new JqlError(`Error in the JQL Query: Expecting a value but got '${token.text}'.`);
  }

  function clause(): JqlExpression {
    const fieldToken = tokens[at++];
    if (fieldToken === undefined || (fieldToken.kind !== "word" && fieldToken.kind !== "string")) {
      throw new JqlError("Error in the JQL Query: Expecting a field name.");
    }
    const next = tokens[at];
    let operator: string;
    if (next?.kind === "op") {
      operator = next.text;
      at++;
    } else if (peekWord("IN")) {
      operator = "in";
      at++;
    } else if (peekWord("NOT")) {
      at++;
      if (!peekWord("IN")) throw new JqlError("Error in the JQL Query: Expecting 'IN' after 'NOT'.");
      at++;
      operator = "not in";
    } else if (peekWord("IS")) {
      at++;
      operator = "is";
      if (peekWord("NOT")) {
        at++;
        operator = "is not";
      }
    } else {
      throw new JqlError(`Error in the JQL Query: Expecting operator after '${fieldToken.text}'.`);
    }
    return { kind: "clause", field: fieldToken.text, operator, value: value() };
  }

  function term(): JqlExpression {
    if (peekWord("NOT")) {
      at++;
      return { kind: "not", part: term() };
    }
    const token = tokens[at];
    if (token?.kind === "punct" && token.text === "(") {
      at++;
      const inner = or();
      expectPunct(")");
      return inner;
    }
    return clause();
  }

  function and(): JqlExpression {
    const parts = [term()];
    while (peekWord("AND")) {
      at++;
      parts.push(term());
    }
    return parts.length === 1 ? parts[0]! : { kind: "and", parts };
  }

  function or(): JqlExpression {
    const parts = [and()];
    while (peekWord("OR")) {
      at++;
      parts.push(and());
    }
    return parts.length === 1 ? parts[0]! : { kind: "or", parts };
  }

  const where = at < tokens.length && !peekWord("ORDER") ? or() : null;
  const orderBy: JqlQuery["orderBy"] = [];
  if (peekWord("ORDER")) {
    at++;
    if (!peekWord("BY")) throw new JqlError("Error in the JQL Query: Expecting 'BY' after 'ORDER'.");
    at++;
    do {
      if (tokens[at]?.kind === "punct") at++;
      const field = tokens[at++];
      if (field === undefined || field.kind === "punct" || field.kind === "op")
        throw new JqlError("Error in the JQL Query: Expecting a field to order by.");
      let descending = false;
      if (peekWord("ASC", "DESC"))
        descending = (tokens[at++] as { text: string }).text.toUpperCase() === "DESC";
      orderBy.push({ field: field.text, descending });
    } while (tokens[at]?.kind === "punct" && tokens[at]!.text === ",");
    if (orderBy.length > 7) throw new JqlError("The ORDER BY clause can contain a maximum of 7 fields.");
  }
  if (at < tokens.length)
    throw new JqlError(`Error in the JQL Query: unexpected '${(tokens[at] as { text: string }).text}'.`);
  return { where, orderBy };
}

/** How a field reads on one issue, supplied by the simulator. */
export interface JqlSubject {
  /** Text value of a field (status name, key, summary, custom field), or null when empty. */
  text(field: string): string | null;
  /** Instant of a date field (created, updated), or null. */
  instant(field: string): number | null;
}

export interface JqlContext {
  currentUser: string;
  /** Zone of the searching user: date literals are read in it. */
  timeZone: string;
  now: number;
  /** Canonical field name for a clause name (`cf[10050]`, `"Ticket sync id"`, `key`), or null if unknown. */
  resolveField(name: string): string | null;
  isDateField(field: string): boolean;
}

/** Evaluates a parsed query's WHERE against one issue. */
export function matchesJql(
  expression: JqlExpression | null,
  subject: JqlSubject,
  context: JqlContext,
): boolean {
  if (expression === null) return true;
  switch (expression.kind) {
    case "and":
      return expression.parts.every((part) => matchesJql(part, subject, context));
    case "or":
      return expression.parts.some((part) => matchesJql(part, subject, context));
    case "not":
      return !matchesJql(expression.part, subject, context);
    case "clause":
      return matchesClause(expression, subject, context);
  }
}

function resolveValue(value: JqlValue, context: JqlContext): string | null {
  if (value.kind === "empty") return null;
  if (value.kind === "function") {
    if (value.name.toLowerCase() === "currentuser") return context.currentUser;
    throw new JqlError(`Unable to find JQL function '${value.name}()'.`);
  }
  if (value.kind === "list") throw new JqlError("Error in the JQL Query: a list is only valid with IN.");
  return value.text;
}

function matchesClause(
  clause: Extract<JqlExpression, { kind: "clause" }>,
  subject: JqlSubject,
  context: JqlContext,
): boolean {
  const field = context.resolveField(clause.field);
  if (field === null) {
    throw new JqlError(`Field '${clause.field}' does not exist or you do not have permission to view it.`);
  }
  const { operator, value } = clause;
  if (operator === "is" || operator === "is not") {
    if (value.kind !== "empty") throw new JqlError("Error in the JQL Query: IS only takes EMPTY.");
    const empty = context.isDateField(field)
      ? subject.instant(field) === null
      : (subject.text(field) ?? "") === "";
    return operator === "is" ? empty : !empty;
  }
  if (context.isDateField(field)) {
    const actual = subject.instant(field);
    const bound = parseDateLiteral(resolveValue(value, context) ?? "", context);
    if (actual === null) return false;
    switch (operator) {
      case ">=":
        return actual >= bound;
      case ">":
        return actual > bound;
      case "<=":
        return actual <= bound;
      case "<":
        return actual < bound;
      case "=":
        return actual === bound;
      default:
        throw new JqlError(`The operator '${operator}' is not supported by the '${clause.field}' field.`);
    }
  }
  const actual = subject.text(field);
  if (operator === "in" || operator === "not in") {
    if (value.kind !== "list") throw new JqlError("Error in the JQL Query: IN takes a list.");
    const wanted = value.items.map((item) => resolveValue(item, context)?.toLowerCase() ?? null);
    const found = wanted.includes(actual?.toLowerCase() ?? null);
    return operator === "in" ? found : !found;
  }
  const wanted = resolveValue(value, context);
  switch (operator) {
    case "=":
      return actual !== null && wanted !== null && actual.toLowerCase() === wanted.toLowerCase();
    case "!=":
      return actual === null || wanted === null || actual.toLowerCase() !== wanted.toLowerCase();
    case "~":
    case "!~": {
      // Jira matches words; the simulator matches the phrase (quotes stripped) as a substring.
      const phrase = (wanted ?? "").replace(/^"(.*)"$/, "$1").toLowerCase();
      const contains = actual?.toLowerCase().includes(phrase) ?? false;
      return operator === "~" ? contains : !contains;
    }
    default:
      throw new JqlError(`The operator '${operator}' is not supported by the '${clause.field}' field.`);
  }
}

/**
 * A JQL date literal as an instant: `yyyy/MM/dd HH:mm`, `yyyy-MM-dd HH:mm`, a date alone, or a
 * relative `-15m` / `-2h` / `-1d` / `-1w`. Absolute ones are wall times in the user's zone; a
 * wall time that occurs twice (the DST fall-back hour) is read as the later instant, the
 * reading that hurts a careless client most.
 */
export function parseDateLiteral(literal: string, context: Pick<JqlContext, "timeZone" | "now">): number {
  const relative = /^([-+]?)(\d+)([mhdw])$/.exec(literal.trim());
  if (relative !== null) {
    const unitMs = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[
      relative[3] as "m" | "h" | "d" | "w"
    ];
    const sign = relative[1] === "+" ? 1 : -1;
    return context.now + sign * Number(relative[2]) * unitMs;
  }
  const absolute = /^(\d{4})[/-](\d{2})[/-](\d{2})(?: (\d{2}):(\d{2}))?$/.exec(literal.trim());
  if (absolute === null) {
    throw new JqlError(
      `Date value '${literal}' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.`,
    );
  }
  const [, year, month, day, hour = "00", minute = "00"] = absolute;
  const wallUtc = Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute));
  const candidates = new Set<number>();
  for (const probe of [-26, -3, 0, 3, 26]) {
    const offset = offsetAt(wallUtc + probe * 3_600_000, context.timeZone);
    const candidate = wallUtc - offset;
    if (offsetAt(candidate, context.timeZone) === offset) candidates.add(candidate);
  }
  // A wall time in the spring-forward gap exists in no offset; read it like the hour before.
  return candidates.size === 0 ? wallUtc - offsetAt(wallUtc, context.timeZone) : Math.max(...candidates);
}

/** The zone's UTC offset at an instant, in milliseconds. */
export function offsetAt(instantMs: number, timeZone: string): number {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    })
      .formatToParts(new Date(instantMs))
      .map((part) => [part.type, part.value]),
  );
  const asUtc = Date.UTC(
    Number(parts["year"]),
    Number(parts["month"]) - 1,
    Number(parts["day"]),
    Number(parts["hour"]),
    Number(parts["minute"]),
    Number(parts["second"]),
  );
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}
