// HTML (web pages and mammoth's DOCX output) to plain text that keeps its structure: headings
// become Markdown headings so the chunker can build heading paths, blocks become paragraphs.
// linkedom and Readability are imported on first use: in Lambda they are installed beside the
// bundle, not in it (infra/lib/constructs/document-parsers.ts), and a cold start never loads them.
import { onDemand } from "../on-demand.ts";

const loadLinkedom = onDemand(() => import("linkedom"));
const loadReadability = onDemand(() => import("@mozilla/readability"));

// The project compiles without the DOM lib; these are the few node fields the walk reads.
interface DomNode {
  nodeType: number;
  textContent: string | null;
}
interface DomElement extends DomNode {
  tagName: string;
  childNodes: ArrayLike<DomNode>;
}
interface DomDocument {
  title?: string;
  body: DomElement | null;
  documentElement: DomElement | null;
}

const ELEMENT_NODE = 1;
const TEXT_NODE = 3;
const SKIPPED = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "SVG", "IFRAME", "HEAD", "NAV", "FOOTER"]);
const TEXT_BLOCKS = new Set(["P", "PRE", "BLOCKQUOTE", "DT", "DD", "CAPTION", "FIGCAPTION", "ADDRESS", "SUMMARY"]);

function isElement(node: DomNode): node is DomElement {
  return node.nodeType === ELEMENT_NODE;
}

function collapse(text: string | null): string {
  return (text ?? "").replace(/\s+/g, " ").trim();
}

function hasOwnText(element: DomElement): boolean {
  for (const child of Array.from(element.childNodes)) {
    if (child.nodeType === TEXT_NODE && collapse(child.textContent) !== "") return true;
  }
  return false;
}

function walk(element: DomElement, blocks: string[]): void {
  for (const child of Array.from(element.childNodes)) {
    if (!isElement(child)) continue;
    const tag = child.tagName.toUpperCase();
    if (SKIPPED.has(tag)) continue;
    const heading = /^H([1-6])$/.exec(tag);
    if (heading?.[1] !== undefined) {
      const text = collapse(child.textContent);
      if (text !== "") blocks.push(`${"#".repeat(Number(heading[1]))} ${text}`);
    } else if (tag === "PRE") {
      const text = (child.textContent ?? "").replace(/\s+$/, "");
      if (text.trim() !== "") blocks.push(text);
    } else if (tag === "LI") {
      const text = collapse(child.textContent);
      if (text !== "") blocks.push(`- ${text}`);
    } else if (tag === "TR") {
      const cells = Array.from(child.childNodes)
        .filter(isElement)
        .map((cell) => collapse(cell.textContent))
        .filter((cell) => cell !== "");
      if (cells.length > 0) blocks.push(cells.join(" | "));
    } else if (TEXT_BLOCKS.has(tag) || hasOwnText(child)) {
      const text = collapse(child.textContent);
      if (text !== "") blocks.push(text);
    } else {
      walk(child, blocks);
    }
  }
}

function blocksToText(root: DomElement | null): string {
  if (root === null) return "";
  const blocks: string[] = [];
  walk(root, blocks);
  return blocks.join("\n\n");
}

/** linkedom's parser, imported with the first HTML read. */
async function htmlParser() {
  return (await loadLinkedom()).parseHTML;
}

/** Structured text of an HTML fragment or document (no main-content detection). */
export async function htmlToText(html: string): Promise<string> {
  const parseHTML = await htmlParser();
  const { document } = parseHTML(html.includes("<body") ? html : `<html><body>${html}</body></html>`);
  const parsed = document as DomDocument;
  return blocksToText(parsed.body ?? parsed.documentElement);
}

/** Main content of a web page via Readability, falling back to the whole body's text. */
export async function extractHtml(html: string): Promise<{ text: string; title?: string }> {
  const [parseHTML, { Readability }] = await Promise.all([htmlParser(), loadReadability()]);
  const document = parseHTML(html).document as DomDocument;
  const pageTitle = collapse(document.title ?? "");
  let text = "";
  let title = pageTitle;
  try {
    // Readability mutates the document it is given, so it gets its own parse.
    const article = new Readability(parseHTML(html).document, {
      serializer: (node): DomElement => node,
    }).parse();
    if (article?.content) text = blocksToText(article.content);
    if (article?.title) title = collapse(article.title);
  } catch {
    // Readability gives up on some markup; the body text below is still worth indexing.
  }
  if (text.trim() === "") text = blocksToText(document.body ?? document.documentElement);
  return title === "" ? { text } : { text, title };
}
