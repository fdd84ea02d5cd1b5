// Rendering a tree: Mermaid numbering and escaping, and an SVG drawn by the engine that is
// well-formed XML with one box per node.
import { DOMParser } from "linkedom";
import { describe, expect, it } from "vitest";
import { parseRenderTree, toMermaid, toSvg, wrapLabel } from "#shared/generation/mindmap-render.ts";
import { ValidationError } from "#shared/http/errors.ts";

const TREE = {
  label: "Water cycle",
  children: [
    { text: "Evaporation", nodes: [{ name: "Latent heat" }] },
    { label: 'The "rain <shadow>" & deserts', children: [] },
  ],
};

/** Checks XML well-formedness: balanced tags, quoted attributes, no raw `<` or bare `&` in text. */
function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  const tag = /<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < body.length) {
    const lt = body.indexOf("<", i);
    const text = body.slice(i, lt < 0 ? body.length : lt);
    if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(text)) problems.push(`bare & in ${JSON.stringify(text)}`);
    if (lt < 0) break;
    tag.lastIndex = lt;
    const match = tag.exec(body);
    if (!match) {
      problems.push(`malformed tag at ${lt}: ${body.slice(lt, lt + 40)}`);
      break;
    }
    const [, closing, name, , selfClosing] = match;
    if (closing) {
      if (stack.pop() !== name) problems.push(`unbalanced </${name}>`);
    } else if (!selfClosing) stack.push(name ?? "");
    i = tag.lastIndex;
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(", ")}`);
  return problems;
}

describe("parseRenderTree", () => {
  it("accepts label/text/name and children/nodes, numbering nodes depth-first", () => {
    // Act
    const tree = parseRenderTree(TREE);

    // Assess
    expect(tree).toMatchObject({ id: "n1", label: "Water cycle", level: 0 });
    expect(tree.children.map((child) => child.id)).toEqual(["n2", "n4"]);
    expect(tree.children[0]?.children[0]).toMatchObject({ id: "n3", label: "Latent heat", level: 2 });
  });

  it("reads a /ai/mindmap response through its root", () => {
    // Act
    const tree = parseRenderTree({ topic: "x", root: { id: "root", label: "Root", level: 0, children: [] } });

    // Assess
    expect(tree).toEqual({ id: "n1", label: "Root", level: 0, children: [] });
  });

  it("rejects a node without a label with a 422 naming where it is", () => {
    // Act
    const attempt = () => parseRenderTree({ label: "Root", children: [{ children: [] }] });

    // Assess
    expect(attempt).toThrow(ValidationError);
    try {
      attempt();
    } catch (error) {
      expect((error as ValidationError).statusCode).toBe(422);
      expect((error as ValidationError).issues[0]?.loc).toEqual(["body", "children", 0, "label"]);
    }
  });
});

describe("toMermaid", () => {
  it("starts with graph TD, declares each node then its edge from the parent, depth-first", () => {
    // Act
    const mermaid = toMermaid(parseRenderTree(TREE));

    // Assess
    expect(mermaid.split("\n")).toEqual([
      "graph TD",
      '  n1["Water cycle"]',
      '  n2["Evaporation"]',
      "  n1 --> n2",
      '  n3["Latent heat"]',
      "  n2 --> n3",
      '  n4["The #quot;rain #lt;shadow#gt;#quot; & deserts"]',
      "  n1 --> n4",
    ]);
  });
});

describe("toSvg", () => {
  it("is well-formed XML with escaped text and one box per node", () => {
    // Act
    const svg = toSvg(parseRenderTree(TREE));

    // Assess
    expect(xmlProblems(svg)).toEqual([]);
    expect(svg).toContain("&quot;rain &lt;shadow&gt;&quot; &amp; deserts");
    const document = new DOMParser().parseFromString(svg, "image/svg+xml");
    expect(document.querySelectorAll("g.node")).toHaveLength(4);
    expect(document.querySelectorAll("path")).toHaveLength(3);
  });

  it("places children below their parent without overlapping boxes", () => {
    // Prepare
    const wide = {
      label: "Root",
      children: Array.from({ length: 5 }, (_, i) => ({ label: `A fairly long branch label number ${i}` })),
    };

    // Act
    const svg = toSvg(parseRenderTree(wide));
    const document = new DOMParser().parseFromString(svg, "image/svg+xml");
    const rects = [...document.querySelectorAll("g.node rect")].map((rect) => ({
      x: Number(rect.getAttribute("x")),
      y: Number(rect.getAttribute("y")),
      width: Number(rect.getAttribute("width")),
    }));

    // Assess
    const [root, ...children] = rects;
    for (const child of children) expect(child.y).toBeGreaterThan(root?.y ?? 0);
    for (let i = 1; i < children.length; i++) {
      const left = children[i - 1];
      expect(children[i]?.x ?? 0).toBeGreaterThanOrEqual((left?.x ?? 0) + (left?.width ?? 0));
    }
  });

  it("wraps long labels onto lines of at most 22 characters", () => {
    // Act
    const lines = wrapLabel("Condensation nuclei of dust, smoke and sea salt");

    // Assess
    expect(lines.length).toBeGreaterThan(1);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(22);
    expect(lines.join(" ")).toBe("Condensation nuclei of dust, smoke and sea salt");
  });
});
