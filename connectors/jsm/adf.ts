// Canonical text <-> Atlassian Document Format, through one small document model.
//
// The canonical body is plain text with light markdown-ish conventions:
//   - blocks are separated by a blank line; a single newline inside a paragraph is a line break
//   - "- item" is a bullet, "1. item" a numbered item; nesting is two spaces per level, and an
//     item's further lines are indented past its marker
//   - "```lang" … "```" fences a code block
//   - [text](https://…) is a link, a bare https:// URL is a link to itself
//   - `code` is inline code, **text** is strong
//   - a backslash before one of \ ` * [ ] keeps that character literal
// Mentions are read from ADF as "@Display Name" and written back as plain text: we cannot resolve
// a display name to an accountId, so they do not survive a round trip through Jira (flagged below).
//
// Round trips are lossless for the normal form: parse(render(doc)) = doc, and for ADF made by
// toAdf, fromAdf(toAdf(doc)) = doc. Anything else ADF can say is mapped to the nearest of these
// and listed in `lossyAdfNodes`.
// ADF reference: https://developer.atlassian.com/cloud/jira/platform/apis/document/structure/

/** One run of inline content. A text run carries at most one mark. */
export type Inline =
  | { type: "text"; text: string; mark?: InlineMark }
  | { type: "mention"; text: string; accountId: string | null }
  | { type: "hardBreak" };

export type InlineMark = { type: "strong" } | { type: "code" } | { type: "link"; href: string };

export interface ListItem {
  content: Inline[];
  /** Nested lists only. */
  children: ListBlock[];
}

export interface ListBlock {
  type: "list";
  ordered: boolean;
  /** First number of an ordered list; 1 for bullet lists. */
  start: number;
  items: ListItem[];
}

export type Block =
  | { type: "paragraph"; content: Inline[] }
  | { type: "codeBlock"; language: string | null; text: string }
  | ListBlock;

/** A document: blocks in order. */
export type MarkupDoc = Block[];

/**
 * ADF nodes that `fromAdf` reads but cannot represent exactly; each is kept as its text.
 * Documented in docs/connectors/jsm.md.
 */
export const lossyAdfNodes = {
  mention: "read as the text @Display Name; written back as plain text (no accountId)",
  heading: "read as a paragraph",
  blockquote: "its paragraphs are read without the quote",
  panel: "its content is read without the panel",
  expand: "its title becomes a paragraph, then its content",
  table: "each row becomes a paragraph of cells joined by ' | '",
  rule: "dropped",
  media: "read as the attachment's alt text or '(attachment)'; the file itself syncs as an attachment",
  emoji: "read as its text or :shortName:",
  inlineCard: "read as its URL (a link to itself)",
  "em, underline, strike, textColor, subsup marks": "dropped; the text is kept",
  "several marks on one run": "strong or code is dropped when a link is present",
  "list item with paragraphs or code blocks after the first": "joined as line breaks in the item",
} as const;

// ---------------------------------------------------------------------------------------------
// Canonical text -> model

const fencePattern = /^```([A-Za-z0-9_+#.-]*)\s*$/;
const bulletPattern = /^- (.*)$/;
const orderedPattern = /^(\d{1,9})\. (.*)$/;
// Backslashes, asterisks, brackets and backticks end a bare URL so markup next to it stays markup.
const urlPattern = /^https?:\/\/[^\s<>"`\\*[\]]+/;
// Common autolink rule: punctuation at the end of a bare URL belongs to the sentence.
const trailingUrlPunctuation = /[.,;:!?'")\]]+$/;
const escapable = new Set(["\\", "`", "*", "[", "]"]);

/** Parses canonical text into the document model. Total: every string parses. */
export function parseCanonical(text: string): MarkupDoc {
  const lines = text.replace(/\r\n?/g, "\n").split("\n");
  const blocks: MarkupDoc = [];
  let index = 0;
  while (index < lines.length) {
    const line = lines[index]!;
    if (line.trim() === "") {
      index++;
      continue;
    }
    const fence = fencePattern.exec(line);
    if (fence !== null) {
      const close = lines.findIndex((candidate, at) => at > index && candidate === "```");
      if (close !== -1) {
        blocks.push({
          type: "codeBlock",
          language: fence[1] === "" ? null : fence[1]!,
          text: lines.slice(index + 1, close).join("\n"),
        });
        index = close + 1;
        continue;
      }
    }
    let end = index;
    while (end < lines.length && lines[end]!.trim() !== "") end++;
    const group = lines.slice(index, end);
    index = end;
    if (listMarker(group[0]!) !== null) blocks.push(...parseListGroup(group));
    else {
      const content = group.map((groupLine, at) => parseInline(groupLine, at === 0));
      blocks.push({ type: "paragraph", content: joinLines(content) });
    }
  }
  return blocks;
}

function listMarker(line: string): { ordered: boolean; number: number; rest: string } | null {
  const bullet = bulletPattern.exec(line);
  if (bullet !== null) return { ordered: false, number: 1, rest: bullet[1]! };
  const ordered = orderedPattern.exec(line);
  if (ordered !== null) return { ordered: true, number: Number(ordered[1]), rest: ordered[2]! };
  return null;
}

function joinLines(lines: Inline[][]): Inline[] {
  const content: Inline[] = [];
  lines.forEach((line, at) => {
    if (at > 0) content.push({ type: "hardBreak" });
    content.push(...line);
  });
  return mergeText(content);
}

function parseListGroup(lines: string[]): ListBlock[] {
  const roots: ListBlock[] = [];
  let stack: ListBlock[] = [];
  const itemLines = new Map<ListItem, Inline[][]>();
  let lastItem: ListItem | null = null;
  for (const line of lines) {
    const trimmed = line.trimStart();
    const depth = (line.length - trimmed.length) / 2;
    const marker = listMarker(trimmed);
    if (marker === null || !Number.isInteger(depth) || depth > stack.length) {
      // Anything that is not an item at a reachable depth continues the last item.
      if (lastItem !== null) itemLines.get(lastItem)!.push(parseInline(trimmed, true));
      continue;
    }
    stack = stack.slice(0, depth + 1);
    const parentItem = depth === 0 ? null : stack[depth - 1]!.items.at(-1)!;
    const siblings = parentItem === null ? roots : parentItem.children;
    let list = stack[depth];
    if (list === undefined || list.ordered !== marker.ordered || siblings.at(-1) !== list) {
      list = { type: "list", ordered: marker.ordered, start: marker.number, items: [] };
      siblings.push(list);
      stack[depth] = list;
    }
    const item: ListItem = { content: [], children: [] };
    list.items.push(item);
    itemLines.set(item, [parseInline(marker.rest)]);
    lastItem = item;
  }
  for (const [item, parts] of itemLines) item.content = joinLines(parts);
  return roots;
}

/**
 * Parses one line of inline canonical text. At a line start (a paragraph's first line, an
 * item's continuation line) "\\- " and "1\\. " are escaped list markers.
 */
export function parseInline(line: string, lineStart = false): Inline[] {
  const content: Inline[] = [];
  let plain = "";
  let at = 0;
  if (lineStart) {
    const marker = /^(?:\\-|(\d{1,9})\\\.) /.exec(line);
    if (marker !== null) {
      plain = marker[1] === undefined ? "- " : `${marker[1]}. `;
      at = marker[0].length;
    }
  }
  const flush = () => {
    if (plain !== "") content.push({ type: "text", text: plain });
    plain = "";
  };
  while (at < line.length) {
    const char = line[at]!;
    const next = line[at + 1];
    if (char === "\\" && next !== undefined && escapable.has(next)) {
      plain += next;
      at += 2;
      continue;
    }
    if (char === "*" && next === "*") {
      const close = findClosing(line, "**", at + 2);
      if (close !== -1 && close > at + 2) {
        flush();
        content.push({
          type: "text",
          text: unescapeCanonical(line.slice(at + 2, close)),
          mark: { type: "strong" },
        });
        at = close + 2;
        continue;
      }
    }
    if (char === "`") {
      const close = line.indexOf("`", at + 1);
      if (close > at + 1) {
        flush();
        content.push({ type: "text", text: line.slice(at + 1, close), mark: { type: "code" } });
        at = close + 1;
        continue;
      }
    }
    if (char === "[") {
      const link = /^\[((?:\\.|[^\]\\])+)\]\(([A-Za-z][A-Za-z0-9+.-]*:(?:[^\s()]|\([^\s()]*\))+)\)/.exec(
        line.slice(at),
      );
      if (link !== null) {
        flush();
        content.push({
          type: "text",
          text: unescapeCanonical(link[1]!),
          mark: { type: "link", href: link[2]! },
        });
        at += link[0].length;
        continue;
      }
    }
    if (char === "h" && (at === 0 || !/[A-Za-z0-9]/.test(line[at - 1]!))) {
      const url = urlPattern.exec(line.slice(at));
      if (url !== null) {
        const href = url[0].replace(trailingUrlPunctuation, "");
        if (/^https?:\/\/./.test(href)) {
          flush();
          content.push({ type: "text", text: href, mark: { type: "link", href } });
          at += href.length;
          continue;
        }
      }
    }
    plain += char;
    at++;
  }
  flush();
  return content;
}

/** Finds `token` at or after `from`, skipping backslash escapes. */
function findClosing(line: string, token: string, from: number): number {
  for (let at = from; at < line.length; at++) {
    if (line[at] === "\\" && escapable.has(line[at + 1] ?? "")) {
      at++;
      continue;
    }
    if (line.startsWith(token, at)) return at;
  }
  return -1;
}

function unescapeCanonical(text: string): string {
  return text.replace(/\\([\\`*[\]])/g, "$1");
}

function mergeText(content: Inline[]): Inline[] {
  const merged: Inline[] = [];
  for (const node of content) {
    const last = merged.at(-1);
    if (node.type === "text" && node.mark === undefined && last?.type === "text" && last.mark === undefined) {
      last.text += node.text;
    } else if (node.type !== "text" || node.text !== "") {
      merged.push(node.type === "text" ? { ...node } : node);
    }
  }
  return merged;
}

// ---------------------------------------------------------------------------------------------
// Model -> canonical text

/** Renders the document model as canonical text (its normal form). */
export function renderCanonical(doc: MarkupDoc): string {
  return doc
    .map(renderBlock)
    .filter((text) => text !== "")
    .join("\n\n");
}

function renderBlock(block: Block): string {
  switch (block.type) {
    case "paragraph":
      return renderLines(block.content, true).join("\n");
    case "codeBlock":
      return `\`\`\`${block.language ?? ""}\n${block.text}\n\`\`\``;
    case "list":
      return renderList(block, 0).join("\n");
  }
}

function renderList(list: ListBlock, depth: number): string[] {
  const lines: string[] = [];
  const indent = "  ".repeat(depth);
  list.items.forEach((item, at) => {
    const marker = list.ordered ? `${list.start + at}.` : "-";
    const [first = "", ...rest] = renderLines(item.content, false);
    lines.push(`${indent}${marker} ${first}`);
    // Continuation lines sit past the marker.
    const continuation = indent + " ".repeat(marker.length + 1);
    for (const line of rest) lines.push(continuation + line);
    for (const child of item.children) lines.push(...renderList(child, depth + 1));
  });
  return lines;
}

/** Escapes a line start that would otherwise parse as a list item. */
function escapeLineStart(line: string): string {
  // "\\- " already reads as an escaped marker, so a literal backslash there is doubled.
  if (line.startsWith("- ") || line.startsWith("\\- ")) return `\\${line}`;
  return line.replace(/^(\d{1,9})(\\?)\. /, "$1\\$2. ");
}

/**
 * Inline content as lines, split at hard breaks. `firstLineStart` says whether the first line
 * begins a line of canonical text (a paragraph) or follows a list marker; later lines always
 * begin one in a list item (continuations) and never in a paragraph.
 */
function renderLines(content: readonly Inline[], firstLineStart: boolean): string[] {
  const lines: Inline[][] = [[]];
  for (const node of content) {
    if (node.type === "hardBreak") lines.push([]);
    else lines.at(-1)!.push(node);
  }
  return lines.map((nodes, at) => renderLine(nodes, at === 0 ? firstLineStart : !firstLineStart));
}

/**
 * One line, escaped as little as possible: plain text is written as typed unless parsing it back
 * would give something else (a bracket that forms a link, a ** pair), then everything is escaped.
 */
function renderLine(nodes: readonly Inline[], lineStart: boolean): string {
  const expected = JSON.stringify(plainMentions(nodes));
  const attempts = [
    { escape: minimalEscape, bareLinks: true },
    { escape: escapeText, bareLinks: true },
    { escape: escapeText, bareLinks: false },
  ];
  let line = "";
  for (const { escape: escapeWith, bareLinks } of attempts) {
    line = renderNodes(nodes, escapeWith, bareLinks);
    if (lineStart) line = escapeLineStart(line);
    if (JSON.stringify(parseInline(line, lineStart)) === expected) return line;
  }
  // Only lossy content (a backtick in inline code, a mention) gets here; the last form is the safest.
  return line;
}

/** What parsing gives back for a line: mentions are plain text (see lossyAdfNodes). */
function plainMentions(nodes: readonly Inline[]): Inline[] {
  return mergeText(nodes.map((node) => (node.type === "mention" ? { type: "text", text: node.text } : node)));
}

/** What comes right after escaped text: a node, closing markup (`]`, `**`), or nothing. */
type After = Inline | "closing-markup" | undefined;
type Escape = (text: string, after: After) => string;

/** Whether a backslash at the end of the text would escape what comes after it. */
function escapesAfter(after: After): boolean {
  return after === "closing-markup" || (after?.type === "text" && after.mark !== undefined);
}

/** Links are rendered bare only where parsing the line gives back the same link. */
function renderNodes(nodes: readonly Inline[], escapeWith: Escape, bareLinks: boolean): string {
  const parts = nodes.map((node, at) => renderInline(node, nodes[at + 1], escapeWith));
  if (!bareLinks) return parts.join("");
  nodes.forEach((node, at) => {
    if (node.type !== "text" || node.mark?.type !== "link") return;
    const href = node.mark.href;
    const before = parts.slice(0, at).join("");
    const after = parts.slice(at + 1).join("");
    const parsedHref = urlPattern.exec(href + after)?.[0].replace(trailingUrlPunctuation, "");
    if (
      node.text === href &&
      parsedHref === href &&
      /^https?:\/\/./.test(href) &&
      !/[A-Za-z0-9]$/.test(before)
    ) {
      parts[at] = href;
    }
  });
  return parts.join("");
}

function renderInline(node: Inline, following: Inline | undefined, escapeWith: Escape): string {
  if (node.type === "hardBreak") return "\n";
  if (node.type === "mention")
    return escapeWith(node.text.startsWith("@") ? node.text : `@${node.text}`, following);
  const mark = node.mark;
  if (mark === undefined) return escapeWith(node.text, following);
  switch (mark.type) {
    case "strong":
      return `**${escapeText(node.text, "closing-markup")}**`;
    case "code":
      // Inline code cannot hold a backtick; the run is split around it (lossy, rare).
      return node.text
        .split("`")
        .map((part) => (part === "" ? "" : `\`${part}\``))
        .join("\\`");
    case "link": {
      // Spaces and unbalanced parentheses would end the (href) early; percent-encoding keeps the target.
      const href = /^(?:[^\s()]|\([^\s()]*\))+$/.test(mark.href)
        ? mark.href
        : mark.href.replace(/[()\s]/g, (char) =>
            char === "(" ? "%28" : char === ")" ? "%29" : encodeURIComponent(char),
          );
      return `[${escapeText(node.text, "closing-markup")}](${href})`;
    }
  }
}

/** Only backslashes that would escape what follows them. */
function minimalEscape(text: string, after: After): string {
  return text.replace(/\\(?=([\\`*[\]])|$)/g, (match, next: string | undefined) =>
    next !== undefined || escapesAfter(after) ? "\\\\" : match,
  );
}

/**
 * Escapes plain text so it parses back to itself: backticks and brackets always, asterisks that
 * could pair into **, and a backslash that would otherwise escape what follows it.
 */
function escapeText(text: string, after: After): string {
  let escaped = "";
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    const next = text[at + 1];
    if (char === "\\") {
      const escapesNext = next !== undefined ? escapable.has(next) : escapesAfter(after);
      escaped += escapesNext ? "\\\\" : "\\";
    } else if (char === "`" || char === "[" || char === "]") {
      escaped += `\\${char}`;
    } else if (char === "*") {
      const mayPair = next === "*" || text[at - 1] === "*" || at === 0 || next === undefined;
      escaped += mayPair ? "\\*" : "*";
    } else {
      escaped += char;
    }
  }
  return escaped;
}

// ---------------------------------------------------------------------------------------------
// Model <-> ADF

/** An ADF node as JSON. Only `type` is guaranteed; readers must tolerate anything else. */
export interface AdfNode {
  type: string;
  text?: string;
  attrs?: Record<string, unknown>;
  marks?: { type: string; attrs?: Record<string, unknown> }[];
  content?: AdfNode[];
  version?: number;
}

/** The document model -> an ADF `doc` in normal form. */
export function toAdf(doc: MarkupDoc): AdfNode {
  return { type: "doc", version: 1, content: doc.map(blockToAdf) };
}

function blockToAdf(block: Block): AdfNode {
  switch (block.type) {
    case "paragraph":
      return { type: "paragraph", content: block.content.map(inlineToAdf) };
    case "codeBlock": {
      const node: AdfNode = { type: "codeBlock" };
      if (block.language !== null) node.attrs = { language: block.language };
      node.content = block.text === "" ? [] : [{ type: "text", text: block.text }];
      return node;
    }
    case "list":
      return listToAdf(block);
  }
}

function listToAdf(list: ListBlock): AdfNode {
  const node: AdfNode = { type: list.ordered ? "orderedList" : "bulletList" };
  if (list.ordered && list.start !== 1) node.attrs = { order: list.start };
  node.content = list.items.map((item) => ({
    type: "listItem",
    content: [{ type: "paragraph", content: item.content.map(inlineToAdf) }, ...item.children.map(listToAdf)],
  }));
  return node;
}

function inlineToAdf(node: Inline): AdfNode {
  switch (node.type) {
    case "hardBreak":
      return { type: "hardBreak" };
    // Outbound mentions are never produced by parseCanonical; this keeps toAdf total.
    case "mention":
      return node.accountId === null
        ? { type: "text", text: node.text }
        : { type: "mention", attrs: { id: node.accountId, text: node.text } };
    case "text": {
      const text: AdfNode = { type: "text", text: node.text };
      if (node.mark !== undefined) {
        text.marks = [
          node.mark.type === "link"
            ? { type: "link", attrs: { href: node.mark.href } }
            : { type: node.mark.type },
        ];
      }
      return text;
    }
  }
}

/** An ADF document (or any ADF node) -> the document model. Unknown nodes keep their text. */
export function fromAdf(adf: unknown): MarkupDoc {
  if (!isAdfNode(adf)) return [];
  const blocks = adf.type === "doc" ? children(adf).flatMap(blockFromAdf) : blockFromAdf(adf);
  return blocks.filter((block) => block.type !== "paragraph" || block.content.length > 0);
}

function isAdfNode(value: unknown): value is AdfNode {
  return (
    typeof value === "object" && value !== null && typeof (value as { type?: unknown }).type === "string"
  );
}

function children(node: AdfNode): AdfNode[] {
  return Array.isArray(node.content) ? node.content.filter(isAdfNode) : [];
}

function blockFromAdf(node: AdfNode): Block[] {
  switch (node.type) {
    case "paragraph":
    case "heading":
      return [{ type: "paragraph", content: inlinesFromAdf(children(node)) }];
    case "codeBlock": {
      const language = typeof node.attrs?.["language"] === "string" ? node.attrs["language"] : null;
      return [
        {
          type: "codeBlock",
          language: language === "" ? null : language,
          text: children(node)
            .map((child) => child.text ?? "")
            .join(""),
        },
      ];
    }
    case "bulletList":
    case "orderedList":
      return [listFromAdf(node)];
    case "rule":
      return [];
    case "table":
      return children(node).map((row) => ({
        type: "paragraph",
        content: [
          {
            type: "text",
            text: children(row)
              .map((cell) => plainTextOf(cell).trim())
              .join(" | "),
          },
        ],
      }));
    case "expand":
    case "nestedExpand": {
      const title = typeof node.attrs?.["title"] === "string" ? node.attrs["title"] : "";
      const titleBlock: Block[] =
        title === "" ? [] : [{ type: "paragraph", content: [{ type: "text", text: title }] }];
      return [...titleBlock, ...children(node).flatMap(blockFromAdf)];
    }
    case "mediaSingle":
    case "mediaGroup":
    case "mediaInline":
    case "media":
      return [{ type: "paragraph", content: [{ type: "text", text: mediaText(node) }] }];
    default: {
      // blockquote, panel, layouts and future containers: their blocks, else their text.
      const nested = children(node);
      if (nested.some((child) => isBlockType(child.type))) return nested.flatMap(blockFromAdf);
      const inline = inlinesFromAdf(nested.length > 0 ? nested : [node]);
      return inline.length === 0 ? [] : [{ type: "paragraph", content: inline }];
    }
  }
}

const blockTypes = new Set([
  "paragraph",
  "heading",
  "codeBlock",
  "bulletList",
  "orderedList",
  "blockquote",
  "panel",
  "rule",
  "table",
  "expand",
  "nestedExpand",
  "mediaSingle",
  "mediaGroup",
  "layoutSection",
  "layoutColumn",
  "decisionList",
  "taskList",
]);

function isBlockType(type: string): boolean {
  return blockTypes.has(type);
}

function mediaText(node: AdfNode): string {
  const media = node.type === "media" || node.type === "mediaInline" ? node : children(node)[0];
  const alt = media?.attrs?.["alt"];
  return typeof alt === "string" && alt !== "" ? alt : "(attachment)";
}

function listFromAdf(node: AdfNode): ListBlock {
  const ordered = node.type === "orderedList";
  const order = node.attrs?.["order"];
  const list: ListBlock = {
    type: "list",
    ordered,
    start: ordered && typeof order === "number" && Number.isInteger(order) && order >= 0 ? order : 1,
    items: [],
  };
  for (const itemNode of children(node)) {
    const item: ListItem = { content: [], children: [] };
    const lines: Inline[][] = [];
    for (const child of itemNode.type === "listItem" ? children(itemNode) : [itemNode]) {
      if (child.type === "bulletList" || child.type === "orderedList") item.children.push(listFromAdf(child));
      else {
        for (const block of blockFromAdf(child)) {
          if (block.type === "paragraph") lines.push(block.content);
          else if (block.type === "codeBlock")
            lines.push(...block.text.split("\n").map((text) => [{ type: "text" as const, text }]));
          else item.children.push(block);
        }
      }
    }
    item.content = joinLines(lines);
    list.items.push(item);
  }
  return list;
}

function inlinesFromAdf(nodes: AdfNode[]): Inline[] {
  const content: Inline[] = [];
  for (const node of nodes) {
    switch (node.type) {
      case "text": {
        const text = node.text ?? "";
        const marks = Array.isArray(node.marks) ? node.marks : [];
        const link = marks.find((mark) => mark.type === "link");
        const href = link?.attrs?.["href"];
        if (typeof href === "string" && href !== "")
          content.push({ type: "text", text, mark: { type: "link", href } });
        else if (marks.some((mark) => mark.type === "code"))
          content.push({ type: "text", text, mark: { type: "code" } });
        else if (marks.some((mark) => mark.type === "strong"))
          content.push({ type: "text", text, mark: { type: "strong" } });
        else content.push({ type: "text", text });
        break;
      }
      case "hardBreak":
        content.push({ type: "hardBreak" });
        break;
      case "mention": {
        const text = typeof node.attrs?.["text"] === "string" ? node.attrs["text"] : "";
        const id = typeof node.attrs?.["id"] === "string" ? node.attrs["id"] : null;
        content.push({
          type: "mention",
          text: text.startsWith("@") ? text : `@${text || "unknown"}`,
          accountId: id,
        });
        break;
      }
      case "emoji": {
        const text = node.attrs?.["text"] ?? node.attrs?.["shortName"];
        content.push({ type: "text", text: typeof text === "string" ? text : "" });
        break;
      }
      case "inlineCard": {
        const url = node.attrs?.["url"];
        if (typeof url === "string")
          content.push({ type: "text", text: url, mark: { type: "link", href: url } });
        break;
      }
      case "mediaInline":
        content.push({ type: "text", text: mediaText(node) });
        break;
      default: {
        const text = plainTextOf(node);
        if (text !== "") content.push({ type: "text", text });
      }
    }
  }
  return mergeText(content);
}

/** All text below a node, for nodes we do not model. */
function plainTextOf(node: AdfNode): string {
  if (node.type === "text") return node.text ?? "";
  if (node.type === "hardBreak") return "\n";
  const attrText = node.attrs?.["text"];
  if (typeof attrText === "string" && children(node).length === 0) return attrText;
  return children(node)
    .map(plainTextOf)
    .join(node.type === "tableRow" ? " | " : "");
}

// ---------------------------------------------------------------------------------------------
// Canonical text <-> ADF, the functions the connector uses

/** Canonical body -> ADF doc; null or blank text is "no document". */
export function canonicalToAdf(text: string | null): AdfNode | null {
  if (text === null || text.trim() === "") return null;
  return toAdf(parseCanonical(text));
}

/** ADF doc -> canonical body; an empty or missing document is null. */
export function adfToCanonical(adf: unknown): string | null {
  if (adf === null || adf === undefined) return null;
  const text = renderCanonical(fromAdf(adf));
  return text === "" ? null : text;
}

/**
 * What a human would read: markup removed, whitespace collapsed. Used to recognise our own
 * comment after Jira has converted it (wiki markup in, ADF out), where exact text may differ.
 */
export function readableText(doc: MarkupDoc): string {
  const inline = (content: readonly Inline[]) =>
    content
      .map((node) => {
        if (node.type === "hardBreak") return " ";
        if (node.type === "text" && node.mark?.type === "link" && node.text !== node.mark.href) {
          return `${node.text} ${node.mark.href}`;
        }
        return node.text;
      })
      .join("");
  const block = (item: Block): string => {
    switch (item.type) {
      case "paragraph":
        return inline(item.content);
      case "codeBlock":
        return item.text;
      case "list":
        return item.items
          .map((entry) => [inline(entry.content), ...entry.children.map(block)].join(" "))
          .join(" ");
    }
  };
  return doc.map(block).join(" ").replace(/\s+/g, " ").trim();
}
