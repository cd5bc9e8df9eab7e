import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type AdfNode,
  adfToCanonical,
  canonicalToAdf,
  fromAdf,
  type Inline,
  type ListBlock,
  type MarkupDoc,
  parseCanonical,
  readableText,
  renderCanonical,
  toAdf,
} from "../adf.js";
import { canonicalToWiki, escapeWiki, parseWiki, renderWiki, wikiToCanonical } from "../wiki-markup.js";
import { fixture } from "./fixtures/index.js";

const doc = (...content: AdfNode[]): AdfNode => ({ type: "doc", version: 1, content });
const paragraph = (...content: AdfNode[]): AdfNode => ({ type: "paragraph", content });
const text = (value: string, ...marks: AdfNode["marks"] & object): AdfNode =>
  marks.length === 0 ? { type: "text", text: value } : { type: "text", text: value, marks };
const link = (value: string, href: string) => text(value, { type: "link", attrs: { href } });
const item = (...content: AdfNode[]): AdfNode => ({ type: "listItem", content });
const show = (value: unknown) => JSON.stringify(value, null, 1);

describe("canonical text -> ADF", () => {
  it.each<[string, string, AdfNode]>([
    ["a paragraph", "Hello world", doc(paragraph(text("Hello world")))],
    [
      "paragraphs and a line break",
      "First line\nsecond line\n\nNext paragraph",
      doc(
        paragraph(text("First line"), { type: "hardBreak" }, text("second line")),
        paragraph(text("Next paragraph")),
      ),
    ],
    [
      "a bullet list with a nested list",
      "- one\n- two\n  - two.a\n- three",
      doc({
        type: "bulletList",
        content: [
          item(paragraph(text("one"))),
          item(paragraph(text("two")), { type: "bulletList", content: [item(paragraph(text("two.a")))] }),
          item(paragraph(text("three"))),
        ],
      }),
    ],
    [
      "a numbered list starting at 3, with a continuation line",
      "3. three\n   and more\n4. four",
      doc({
        type: "orderedList",
        attrs: { order: 3 },
        content: [
          item(paragraph(text("three"), { type: "hardBreak" }, text("and more"))),
          item(paragraph(text("four"))),
        ],
      }),
    ],
    [
      "a fenced code block with a language and a blank line",
      "```sql\nselect 1;\n\nselect 2;\n```",
      doc({ type: "codeBlock", attrs: { language: "sql" }, content: [text("select 1;\n\nselect 2;")] }),
    ],
    [
      "links, a bare URL, inline code and strong",
      "See [the runbook](https://wiki.example.com/rb), https://status.example.com, `npm ci` and **now**.",
      doc(
        paragraph(
          text("See "),
          link("the runbook", "https://wiki.example.com/rb"),
          text(", "),
          link("https://status.example.com", "https://status.example.com"),
          text(", "),
          text("npm ci", { type: "code" }),
          text(" and "),
          text("now", { type: "strong" }),
          text("."),
        ),
      ),
    ],
    [
      "escaped markers kept literal",
      "\\- not a bullet and \\*\\*not strong\\*\\* and \\[not\\](a) a link",
      doc(paragraph(text("- not a bullet and **not strong** and [not](a) a link"))),
    ],
  ])("%s", (_case, canonical, expected) => {
    const adf = canonicalToAdf(canonical);
    expect(adf, show(adf)).toEqual(expected);
    expect(adfToCanonical(adf)).toBe(canonical);
  });

  it("treats blank text as no document, and no document as null", () => {
    expect(canonicalToAdf(null)).toBeNull();
    expect(canonicalToAdf("  \n\n ")).toBeNull();
    expect(adfToCanonical(null)).toBeNull();
    expect(adfToCanonical(doc())).toBeNull();
  });
});

describe("canonical text round trip (canonical -> ADF -> canonical is the identity)", () => {
  it.each([
    "Steps:\n- restart the AP\n- check the switch",
    "[URGENT] Order entry fails for tkt_01JD8X4Q2W3E4R5T6Y7U8I9O0P",
    "Path C:\\temp\\.git, 5 * 3 = 15, a lone ` backtick and a single *star",
    "Mail ops@example.com or see https://example.com/a_(b)?x=1#y.",
    "1. first\n2. second\n  - nested bullet\n    continued\n3. third",
    "```\nconst a = `template`;\n```\n\nafter the code",
    "Ends with a backslash \\",
    "**Bold start** then text, then `code`",
    "Line one\n- not a list (second line of a paragraph)",
    "Tabs\tand  double  spaces stay",
  ])("%j", (canonical) => {
    const adf = canonicalToAdf(canonical);
    expect(adfToCanonical(adf), show(adf)).toBe(canonical);
  });

  it("reads a URL typed as plain ADF text back as a link (flagged normalisation)", () => {
    const adf = doc(paragraph(text("see https://example.com")));
    expect(adfToCanonical(adf)).toBe("see https://example.com");
    expect(canonicalToAdf(adfToCanonical(adf))).toEqual(
      doc(paragraph(text("see "), link("https://example.com", "https://example.com"))),
    );
  });
});

describe("ADF -> canonical text", () => {
  it("reads the derived issue description exactly and back", () => {
    const description = fixture<{ fields: { description: AdfNode } }>("issue-get-help-1").fields.description;
    const canonical = adfToCanonical(description);
    expect(canonical).toBe(
      "Order entry fails when selecting supplier.\n\n- since 09:00\n- see [the runbook](https://wiki.example.com/runbook)",
    );
    expect(canonicalToAdf(canonical)).toEqual(description);
  });

  it("reads Atlassian's own example comment", () => {
    const body = fixture<{ body: AdfNode }>("comment-add-response").body;
    expect(adfToCanonical(body)).toMatch(/^Lorem ipsum dolor sit amet/);
  });

  it.each<[string, AdfNode, string]>([
    [
      "a mention as @Display Name",
      doc(
        paragraph(
          { type: "mention", attrs: { id: "5b10a2844c20165700ede21g", text: "@Mia Krystof" } },
          text(" please check"),
        ),
      ),
      "@Mia Krystof please check",
    ],
    [
      "a heading as a paragraph",
      doc({ type: "heading", attrs: { level: 2 }, content: [text("Impact")] }, paragraph(text("All stores"))),
      "Impact\n\nAll stores",
    ],
    [
      "a table row by row",
      doc({
        type: "table",
        content: [
          {
            type: "tableRow",
            content: [
              { type: "tableHeader", content: [paragraph(text("Site"))] },
              { type: "tableHeader", content: [paragraph(text("State"))] },
            ],
          },
          {
            type: "tableRow",
            content: [
              { type: "tableCell", content: [paragraph(text("Oslo"))] },
              { type: "tableCell", content: [paragraph(text("down"))] },
            ],
          },
        ],
      }),
      "Site | State\n\nOslo | down",
    ],
    [
      "emoji, inline cards and unsupported marks",
      doc(
        paragraph(
          { type: "emoji", attrs: { shortName: ":smile:", text: "😄" } },
          text(" "),
          { type: "inlineCard", attrs: { url: "https://acme.atlassian.net/browse/HELP-2" } },
          text(" "),
          text("italic", { type: "em" }),
        ),
      ),
      "😄 https://acme.atlassian.net/browse/HELP-2 italic",
    ],
    [
      "a panel and a quote by their content, a rule dropped",
      doc(
        { type: "panel", attrs: { panelType: "info" }, content: [paragraph(text("Heads up"))] },
        { type: "rule" },
        { type: "blockquote", content: [paragraph(text("quoted"))] },
      ),
      "Heads up\n\nquoted",
    ],
    [
      "media by its alt text",
      doc({
        type: "mediaSingle",
        content: [
          { type: "media", attrs: { id: "abc", type: "file", collection: "", alt: "screenshot.png" } },
        ],
      }),
      "screenshot.png",
    ],
    [
      "an unknown node by its text",
      doc({ type: "futureBlock", content: [text("still readable")] }),
      "still readable",
    ],
  ])("%s", (_case, adf, expected) => {
    expect(adfToCanonical(adf)).toBe(expected);
  });

  it("never throws on junk", () => {
    for (const junk of [
      undefined,
      42,
      "text",
      {},
      { type: "doc" },
      { type: "doc", content: [null, 1, { x: 1 }] },
    ]) {
      expect(() => fromAdf(junk)).not.toThrow();
    }
  });
});

// Documents in normal form: what parseCanonical can produce.
const words = fc
  .array(
    fc.constantFrom(
      "a",
      "b",
      " ",
      "*",
      "`",
      "[",
      "]",
      "(",
      ")",
      "\\",
      "-",
      ".",
      "1",
      "h",
      "_",
      "@",
      "**",
      ":",
    ),
    {
      minLength: 1,
      maxLength: 6,
    },
  )
  .map((parts) => parts.join(""));
const inline: fc.Arbitrary<Inline> = fc.oneof(
  words.map((value) => ({ type: "text" as const, text: value })),
  words
    .filter((value) => value.trim() !== "")
    .map((value) => ({ type: "text" as const, text: value, mark: { type: "strong" as const } })),
  words
    .filter((value) => !value.includes("`"))
    .map((value) => ({ type: "text" as const, text: value, mark: { type: "code" as const } })),
  fc
    .tuple(words, fc.constantFrom("https://a.example/x", "https://b.example/(y)", "mailto:a@b.example"))
    .map(([value, href]) => ({ type: "text" as const, text: value, mark: { type: "link" as const, href } })),
  fc
    .constantFrom("https://a.example/x", "https://b.example")
    .map((href) => ({ type: "text" as const, text: href, mark: { type: "link" as const, href } })),
  fc.constant({ type: "hardBreak" as const }),
);

function normalInline(content: Inline[], allowLeadingSpace: boolean): Inline[] | null {
  const merged: Inline[] = [];
  for (const node of content) {
    const last = merged.at(-1);
    if (node.type === "text" && node.mark === undefined && last?.type === "text" && last.mark === undefined) {
      merged.push({ ...last, text: last.text + node.text });
      merged.splice(-2, 1);
    } else merged.push(node);
  }
  const lines: Inline[][] = [[]];
  for (const node of merged) {
    if (node.type === "hardBreak") lines.push([]);
    else lines.at(-1)!.push(node);
  }
  const normal = lines.every((line, at) => {
    const plain = line.map((node) => (node.type === "text" ? node.text : "")).join("");
    if (
      plain.trim() === "" ||
      /https?:\/\//.test(
        line
          .filter((node) => node.type === "text" && !node.mark)
          .map((node) => (node as { text: string }).text)
          .join(""),
      )
    )
      return false;
    return allowLeadingSpace && at === 0 ? true : !/^\s/.test(plain);
  });
  return merged.length > 0 && normal ? merged : null;
}

const paragraphs = fc
  .array(inline, { minLength: 1, maxLength: 6 })
  .map((content) => normalInline(content, false))
  .filter((content): content is Inline[] => content !== null)
  .map((content) => ({ type: "paragraph" as const, content }));
const itemContent = fc
  .array(inline, { minLength: 1, maxLength: 4 })
  .map((content) => normalInline(content, false))
  .filter((content): content is Inline[] => content !== null);
function listOf(depth: number): fc.Arbitrary<ListBlock> {
  const nested = depth === 0 ? fc.constant([] as ListBlock[]) : fc.array(listOf(depth - 1), { maxLength: 1 });
  return fc
    .tuple(
      fc.boolean(),
      fc.integer({ min: 1, max: 12 }),
      fc.array(fc.tuple(itemContent, nested), { minLength: 1, maxLength: 3 }),
    )
    .map(([ordered, start, items]) => ({
      type: "list" as const,
      ordered,
      start: ordered ? start : 1,
      items: items.map(([content, children]) => ({ content, children })),
    }));
}
const codeBlocks = fc
  .tuple(fc.constantFrom(null, "ts"), fc.array(fc.constantFrom("x", " ", "\n", "`", "a b"), { maxLength: 5 }))
  .map(([language, parts]) => ({ type: "codeBlock" as const, language, text: parts.join("") }))
  .filter((block) => !block.text.split("\n").includes("```"));
const documents = fc
  .array(fc.oneof(paragraphs, listOf(2), codeBlocks), { minLength: 1, maxLength: 4 })
  // Two lists in a row read back as one block group; normal form separates them with something else.
  .filter((blocks: MarkupDoc) =>
    blocks.every((block, at) => block.type !== "list" || blocks[at + 1]?.type !== "list"),
  );

describe("round trips over generated documents", () => {
  it("parseCanonical(renderCanonical(doc)) and fromAdf(toAdf(doc)) give the document back", () => {
    fc.assert(
      fc.property(documents, (generated) => {
        const canonical = renderCanonical(generated);
        expect(parseCanonical(canonical), show({ canonical, generated })).toEqual(generated);
        expect(fromAdf(toAdf(generated))).toEqual(generated);
      }),
      { numRuns: 400 },
    );
  });

  it("wiki markup keeps what a reader sees", () => {
    fc.assert(
      fc.property(documents, (generated) => {
        const wiki = renderWiki(generated);
        expect(readableText(parseWiki(wiki)), wiki).toBe(readableText(generated));
      }),
      { numRuns: 300 },
    );
  });
});

describe("canonical text <-> Jira wiki markup (servicedesk comment bodies)", () => {
  it.each<[string, string, string]>([
    ["plain text", "Hello there", "Hello there"],
    [
      "effect characters escaped",
      "5 * 3 - 1 = tkt_01 {x} [y] |z| !w!",
      "5 \\* 3 \\- 1 = tkt\\_01 \\{x\\} \\[y\\] \\|z\\| \\!w\\!",
    ],
    ["a backslash as an entity, emoticons defused", "C:\\temp :) (y)", "C:&#92;temp :\\) \\(y)"],
    [
      "lists, nesting and a line break inside an item",
      "- one\n  continued\n  1. nested",
      "* one \\\\ continued\n*# nested",
    ],
    ["a code block", "```sql\nselect *\n```", "{code:sql}\nselect *\n{code}"],
    [
      "links, code and strong",
      "**Done**: see [runbook](https://wiki.example.com/rb) and `make` at https://a.example",
      "*Done*: see [runbook|https://wiki.example.com/rb] and {{make}} at [https://a.example]",
    ],
  ])("%s", (_case, canonical, wiki) => {
    expect(canonicalToWiki(canonical)).toBe(wiki);
    expect(readableText(parseWiki(wiki))).toBe(readableText(parseCanonical(canonical)));
  });

  it("reads back what it writes, except an ordered list's start number", () => {
    expect(wikiToCanonical(canonicalToWiki("Intro\n\n3. a\n4. b"))).toBe("Intro\n\n1. a\n2. b");
    expect(wikiToCanonical(canonicalToWiki("**Bold** and [x](https://x.example)"))).toBe(
      "**Bold** and [x](https://x.example)",
    );
  });

  it("reads mentions and headings in wiki a human wrote", () => {
    expect(wikiToCanonical("h2. Impact\n[~accountid:5b10a2844c20165700ede21g] please look")).toBe(
      "Impact\n@5b10a2844c20165700ede21g please look",
    );
  });

  it("escapes a literal entity so it is not decoded", () => {
    expect(escapeWiki("&#92;")).toBe("\\&#92;");
    expect(wikiToCanonical(escapeWiki("a &#92; b"))).toBe("a &#92; b");
  });
});

describe("readableText", () => {
  it("drops markup and collapses whitespace, keeping link targets", () => {
    expect(
      readableText(
        parseCanonical("On behalf of Dana:\n\n**We** are on it, see [docs](https://d.example)\n\n- a"),
      ),
    ).toBe("On behalf of Dana: We are on it, see docs https://d.example a");
  });
});
