import type { Block, Inline, ListBlock, ListItem, MarkupDoc } from "./adf.js";
import { parseCanonical, renderCanonical } from "./adf.js";

// Jira wiki markup for the JSM servicedesk API, whose comment `body` (and request field values
// without `isAdfRequest`) is a wiki-markup string, not ADF:
// https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-issueidorkey-comment-post
// Notation: https://jira.atlassian.com/secure/WikiRendererHelpAction.jspa?section=all
// Jira stores what we send as ADF; we read comments back as ADF, so `parseWiki` exists for the
// simulator (which plays Jira's conversion) and for the occasional wiki body in a webhook.

// Characters that start an effect anywhere in a line: bold, italic, strike, underline, super-
// and subscript, macros, links, tables, images.
const effectChars = new Set(["*", "_", "-", "+", "^", "~", "{", "}", "[", "]", "|", "!"]);

/** The document model -> Jira wiki markup. */
export function renderWiki(doc: MarkupDoc): string {
  return doc.map(renderWikiBlock).join("\n\n");
}

/** Canonical text -> Jira wiki markup. */
export function canonicalToWiki(text: string): string {
  return renderWiki(parseCanonical(text));
}

/** Jira wiki markup -> canonical text (the subset `renderWiki` writes, plus headings and quotes as paragraphs). */
export function wikiToCanonical(wiki: string): string {
  return renderCanonical(parseWiki(wiki));
}

function renderWikiBlock(block: Block): string {
  switch (block.type) {
    case "paragraph":
      return wikiLines(block.content, "\n");
    case "codeBlock":
      return `{code${block.language === null ? "" : `:${block.language}`}}\n${block.text}\n{code}`;
    case "list":
      return renderWikiList(block, "").join("\n");
  }
}

function renderWikiList(list: ListBlock, prefix: string): string[] {
  const marker = prefix + (list.ordered ? "#" : "*");
  // Wiki lists always count from 1; an ordered list's own start number is lost (flagged).
  return list.items.flatMap((item) => [
    `${marker} ${wikiLines(item.content, "\\\\")}`,
    ...item.children.flatMap((child) => renderWikiList(child, marker)),
  ]);
}

/** Inline content with hard breaks as `lineBreak`; a newline ends a list item, so items use `\\`. */
function wikiLines(content: readonly Inline[], lineBreak: string): string {
  const lines: string[] = [""];
  for (const node of content) {
    if (node.type === "hardBreak") lines.push("");
    else lines[lines.length - 1] += wikiInline(node);
  }
  return lines.map(escapeWikiLineStart).join(lineBreak === "\n" ? "\n" : ` ${lineBreak} `);
}

function wikiInline(node: Exclude<Inline, { type: "hardBreak" }>): string {
  if (node.type === "mention") return escapeWiki(node.text);
  const mark = node.mark;
  if (mark === undefined) return escapeWiki(node.text);
  switch (mark.type) {
    case "strong": {
      // Wiki bold needs non-space characters next to the asterisks.
      const [, lead = "", core = "", trail = ""] = /^(\s*)(.*?)(\s*)$/s.exec(node.text) ?? [];
      return core === "" ? node.text : `${lead}*${escapeWiki(core)}*${trail}`;
    }
    case "code":
      return `{{${escapeWiki(node.text)}}}`;
    case "link": {
      const href = mark.href.replace(/[|\]\s]/g, (char) => encodeURIComponent(char));
      return node.text === mark.href ? `[${href}]` : `[${escapeWiki(node.text)}|${href}]`;
    }
  }
}

/** Escapes effect characters with a backslash; a literal backslash becomes an entity since `\\` is a line break. */
export function escapeWiki(text: string): string {
  let escaped = "";
  for (let at = 0; at < text.length; at++) {
    const char = text[at]!;
    const next = text[at + 1] ?? "";
    if (char === "\\") escaped += "&#92;";
    else if (char === "&" && /^#\d+;/.test(text.slice(at + 1))) escaped += "\\&";
    else if (effectChars.has(char)) escaped += `\\${char}`;
    else if (char === "?" && next === "?") escaped += "\\?";
    // Emoticons such as :) ;P (y) (/) would render as icons.
    else if (char === "(" && /^[a-z/!?*]{1,3}\)/i.test(text.slice(at + 1))) escaped += "\\(";
    else if ((char === ":" || char === ";") && /^[()PDpd]$/.test(next)) {
      escaped += `${char}\\${next}`;
      at++;
    } else escaped += char;
  }
  return escaped;
}

/** Line starts that mean lists, headings, quotes, rules or tables. */
function escapeWikiLineStart(line: string): string {
  if (/^(h[1-6]|bq)\./.test(line)) return line.replace(".", "\\.");
  if (line.startsWith("#")) return `\\${line}`;
  return line;
}

// ---------------------------------------------------------------------------------------------

/** Jira wiki markup -> the document model. */
export function parseWiki(wiki: string): MarkupDoc {
  const lines = wiki.replace(/\r\n?/g, "\n").split("\n");
  const blocks: MarkupDoc = [];
  let paragraph: Inline[][] = [];
  // Open lists by depth while consecutive list lines are read.
  let listStack: ListBlock[] = [];
  const flushParagraph = () => {
    if (paragraph.length > 0) blocks.push({ type: "paragraph", content: joinWikiLines(paragraph) });
    paragraph = [];
  };
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const code = /^\{(code|noformat)(?::([^}]*))?\}(.*)$/.exec(line);
    if (code !== null) {
      const macro = code[1]!;
      const closing = `{${macro}}`;
      const close = lines.findIndex((candidate, at) => at > index && candidate.trimEnd().endsWith(closing));
      if (close !== -1) {
        flushParagraph();
        listStack = [];
        const body = [
          code[3] ?? "",
          ...lines.slice(index + 1, close),
          lines[close]!.trimEnd().slice(0, -closing.length),
        ];
        if (body[0] === "") body.shift();
        if (body.at(-1) === "") body.pop();
        const language = macro === "code" ? (code[2]?.split("|")[0]?.trim() ?? "") : "";
        blocks.push({
          type: "codeBlock",
          language: language === "" ? null : language,
          text: body.join("\n"),
        });
        index = close;
        continue;
      }
    }
    if (line.trim() === "") {
      flushParagraph();
      listStack = [];
      continue;
    }
    const item = /^([*#]+) (.*)$/.exec(line);
    if (item !== null) {
      flushParagraph();
      const path = item[1]!;
      const ordered = path.endsWith("#");
      const depth = Math.min(path.length - 1, listStack.length);
      listStack = listStack.slice(0, depth + 1);
      const siblings: Block[] = depth === 0 ? blocks : listStack[depth - 1]!.items.at(-1)!.children;
      let list = listStack[depth];
      if (list === undefined || list.ordered !== ordered || siblings.at(-1) !== list) {
        list = { type: "list", ordered, start: 1, items: [] };
        siblings.push(list);
        listStack[depth] = list;
      }
      list.items.push({ content: parseWikiInline(item[2]!), children: [] } satisfies ListItem);
      continue;
    }
    listStack = [];
    paragraph.push(parseWikiInline(line.replace(/^(h[1-6]|bq)\. /, "")));
  }
  flushParagraph();
  return blocks;
}

function joinWikiLines(lines: Inline[][]): Inline[] {
  const content: Inline[] = [];
  lines.forEach((line, at) => {
    if (at > 0) content.push({ type: "hardBreak" });
    content.push(...line);
  });
  return content;
}

/** One line of wiki inline markup: escapes, entities, \\ breaks, *bold*, {{code}}, [links], [~mentions]. */
export function parseWikiInline(line: string): Inline[] {
  const content: Inline[] = [];
  let plain = "";
  const flush = () => {
    if (plain !== "") content.push({ type: "text", text: plain });
    plain = "";
  };
  let at = 0;
  while (at < line.length) {
    const rest = line.slice(at);
    if (rest.startsWith("\\\\")) {
      // A forced line break; the spaces we put around it are not content.
      plain = plain.replace(/ $/, "");
      flush();
      content.push({ type: "hardBreak" });
      at += 2;
      if (line[at] === " ") at++;
      continue;
    }
    if (rest[0] === "\\" && rest.length > 1) {
      plain += rest[1];
      at += 2;
      continue;
    }
    const entity = /^&#(\d+);/.exec(rest);
    if (entity !== null) {
      plain += String.fromCodePoint(Number(entity[1]));
      at += entity[0].length;
      continue;
    }
    const code = /^\{\{((?:\\.|[^}\\])+)\}\}/.exec(rest);
    if (code !== null) {
      flush();
      content.push({ type: "text", text: unescapeWiki(code[1]!), mark: { type: "code" } });
      at += code[0].length;
      continue;
    }
    const strong = /^\*((?:\\.|[^*\\\s])(?:(?:\\.|[^*\\])*(?:\\.|[^*\\\s]))?)\*/.exec(rest);
    if (strong !== null) {
      flush();
      content.push({ type: "text", text: unescapeWiki(strong[1]!), mark: { type: "strong" } });
      at += strong[0].length;
      continue;
    }
    const mention = /^\[~(?:accountid:)?([^\]]+)\]/.exec(rest);
    if (mention !== null) {
      flush();
      content.push({ type: "mention", text: `@${mention[1]}`, accountId: mention[1]! });
      at += mention[0].length;
      continue;
    }
    const link = /^\[(?:((?:\\.|[^|\]\\])*)\|)?([^\]|\s]+)\]/.exec(rest);
    if (link !== null) {
      flush();
      const href = decodeURIComponentSafe(link[2]!);
      content.push({
        type: "text",
        text: link[1] === undefined ? href : unescapeWiki(link[1]),
        mark: { type: "link", href },
      });
      at += link[0].length;
      continue;
    }
    plain += rest[0];
    at++;
  }
  flush();
  return content;
}

function unescapeWiki(text: string): string {
  return text.replace(/&#(\d+);|\\(.)/g, (_, code: string | undefined, escaped: string | undefined) =>
    code === undefined ? (escaped ?? "") : String.fromCodePoint(Number(code)),
  );
}

function decodeURIComponentSafe(text: string): string {
  try {
    return text.replace(/%(7C|5D|20|09|0A|0D)/gi, (encoded) => decodeURIComponent(encoded));
  } catch {
    return text;
  }
}
