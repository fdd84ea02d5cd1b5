// Renders a mind map tree as Mermaid text and as SVG drawn by the engine itself (a top-down tidy
// tree: each subtree gets the width it needs, parents are centred over their children), so no
// rendering service or browser is involved.
import { ValidationError, type ValidationIssue } from "../http/errors.ts";

export interface RenderNode {
  id: string;
  label: string;
  level: number;
  children: RenderNode[];
}

/** Limits that keep a hostile tree from costing much CPU or producing a huge SVG. */
export const RENDER_LIMITS = { maxNodes: 500, maxDepth: 12, maxLabelChars: 200 } as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Reads a tree in any of the shapes clients send: `{label|text|name, children|nodes}` nested, or a
 * `/ai/mindmap` response (`{root: …}`). Nodes are numbered `n1…` depth-first. Throws 422 on bad input.
 */
export function parseRenderTree(value: unknown): RenderNode {
  const input = isRecord(value) && isRecord(value.root) ? value.root : value;
  const issues: ValidationIssue[] = [];
  let counter = 0;
  const read = (node: unknown, level: number, loc: Array<string | number>): RenderNode | undefined => {
    if (!isRecord(node)) {
      issues.push({ loc, msg: "a node must be an object with a label", type: "value_error" });
      return undefined;
    }
    const raw = [node.label, node.text, node.name].find((candidate) => typeof candidate === "string");
    const label = typeof raw === "string" ? raw.replace(/\s+/g, " ").trim() : "";
    if (label === "")
      issues.push({ loc: [...loc, "label"], msg: "a label, text or name is required", type: "missing" });
    if (label.length > RENDER_LIMITS.maxLabelChars) {
      issues.push({
        loc: [...loc, "label"],
        msg: `at most ${RENDER_LIMITS.maxLabelChars} characters`,
        type: "too_long",
      });
    }
    if (level > RENDER_LIMITS.maxDepth) {
      issues.push({ loc, msg: `the tree may be at most ${RENDER_LIMITS.maxDepth} levels deep`, type: "too_deep" });
      return undefined;
    }
    counter++;
    if (counter > RENDER_LIMITS.maxNodes) {
      if (counter === RENDER_LIMITS.maxNodes + 1) {
        issues.push({ loc, msg: `the tree may have at most ${RENDER_LIMITS.maxNodes} nodes`, type: "too_large" });
      }
      return undefined;
    }
    const id = `n${counter}`;
    const key = Array.isArray(node.children) ? "children" : "nodes";
    const rawChildren = node[key];
    if (rawChildren !== undefined && !Array.isArray(rawChildren)) {
      issues.push({ loc: [...loc, key], msg: "children must be a list", type: "list_type" });
    }
    const children: RenderNode[] = [];
    if (Array.isArray(rawChildren)) {
      rawChildren.forEach((child, index) => {
        const parsed = read(child, level + 1, [...loc, key, index]);
        if (parsed) children.push(parsed);
      });
    }
    return { id, label, level, children };
  };
  const tree = read(input, 0, ["body"]);
  if (!tree || issues.length > 0) throw new ValidationError(issues.slice(0, 20));
  return tree;
}

function mermaidLabel(label: string): string {
  // Mermaid's entity codes keep quotes and angle brackets from ending the label or becoming HTML.
  return label.replaceAll("#", "#35;").replaceAll('"', "#quot;").replaceAll("<", "#lt;").replaceAll(">", "#gt;");
}

/** Mermaid flowchart: `graph TD`, nodes `nK["label"]` depth-first, each followed by its edge from the parent. */
export function toMermaid(tree: RenderNode): string {
  const lines = ["graph TD"];
  const visit = (node: RenderNode, parent: RenderNode | undefined) => {
    lines.push(`  ${node.id}["${mermaidLabel(node.label)}"]`);
    if (parent) lines.push(`  ${parent.id} --> ${node.id}`);
    for (const child of node.children) visit(child, node);
  };
  visit(tree, undefined);
  return lines.join("\n");
}

// ---------------------------------------------------------------------------------------------
// SVG

const CHAR_WIDTH = 7.2;
const LINE_HEIGHT = 17;
const PADDING_X = 12;
const PADDING_Y = 9;
const WRAP_CHARS = 22;
const GAP_X = 18;
const GAP_Y = 46;
const MARGIN = 20;
const FILLS = ["#4f46e5", "#0ea5e9", "#10b981", "#f59e0b", "#f43f5e"];
const TEXT_COLOURS = ["#ffffff", "#0f172a", "#0f172a", "#0f172a", "#0f172a"];

interface Box {
  node: RenderNode;
  lines: string[];
  width: number;
  height: number;
  subtreeWidth: number;
  x: number;
  y: number;
  children: Box[];
}

/** Greedy word wrap; a word longer than the line is cut so no box grows without bound. */
export function wrapLabel(label: string, width = WRAP_CHARS): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of label.split(" ")) {
    let rest = word;
    while (rest.length > width) {
      if (line) lines.push(line);
      line = "";
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    if (!line) line = rest;
    else if (line.length + 1 + rest.length <= width) line += ` ${rest}`;
    else {
      lines.push(line);
      line = rest;
    }
  }
  if (line) lines.push(line);
  return lines.length > 0 ? lines : [""];
}

function measure(node: RenderNode): Box {
  const lines = wrapLabel(node.label);
  const width = Math.ceil(Math.max(...lines.map((line) => line.length)) * CHAR_WIDTH + 2 * PADDING_X);
  const height = lines.length * LINE_HEIGHT + 2 * PADDING_Y;
  const children = node.children.map(measure);
  const childrenWidth = children.reduce((sum, child) => sum + child.subtreeWidth, 0) + GAP_X * (children.length - 1);
  return { node, lines, width, height, subtreeWidth: Math.max(width, childrenWidth), x: 0, y: 0, children };
}

function place(box: Box, left: number, levelTops: number[]): void {
  box.x = left + box.subtreeWidth / 2;
  box.y = levelTops[box.node.level] ?? 0;
  const childrenWidth =
    box.children.reduce((sum, child) => sum + child.subtreeWidth, 0) + GAP_X * (box.children.length - 1);
  // Children are centred under the parent when the parent's box is the wider of the two.
  let cursor = left + (box.subtreeWidth - childrenWidth) / 2;
  for (const child of box.children) {
    place(child, cursor, levelTops);
    cursor += child.subtreeWidth + GAP_X;
  }
}

function levelHeights(box: Box, heights: number[]): number[] {
  heights[box.node.level] = Math.max(heights[box.node.level] ?? 0, box.height);
  for (const child of box.children) levelHeights(child, heights);
  return heights;
}

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;")
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "");
}

const round = (value: number) => Math.round(value * 10) / 10;

/** An SVG document of the tree: boxes with wrapped labels, curved edges from parent to child. */
export function toSvg(tree: RenderNode): string {
  const root = measure(tree);
  const heights = levelHeights(root, []);
  const tops: number[] = [];
  let top = MARGIN;
  for (const height of heights) {
    tops.push(top);
    top += height + GAP_Y;
  }
  place(root, MARGIN, tops);
  const width = Math.ceil(root.subtreeWidth + 2 * MARGIN);
  const height = Math.ceil(top - GAP_Y + MARGIN);
  const edges: string[] = [];
  const boxes: string[] = [];
  const draw = (box: Box) => {
    const level = Math.min(box.node.level, FILLS.length - 1);
    const x = round(box.x - box.width / 2);
    boxes.push(
      `<g class="node level-${box.node.level}" id="${box.node.id}">` +
        `<rect x="${x}" y="${round(box.y)}" width="${box.width}" height="${box.height}" rx="8" ry="8" ` +
        `fill="${FILLS[level]}" stroke="#1e293b" stroke-width="1"/>` +
        `<text x="${round(box.x)}" y="${round(box.y + PADDING_Y + LINE_HEIGHT * 0.75)}" text-anchor="middle" ` +
        `font-family="Helvetica, Arial, sans-serif" font-size="12" fill="${TEXT_COLOURS[level]}">` +
        box.lines
          .map(
            (line, index) =>
              `<tspan x="${round(box.x)}" dy="${index === 0 ? 0 : LINE_HEIGHT}">${escapeXml(line)}</tspan>`,
          )
          .join("") +
        `</text><title>${escapeXml(box.node.label)}</title></g>`,
    );
    for (const child of box.children) {
      const fromY = round(box.y + box.height);
      const toY = round(child.y);
      const midY = round((fromY + toY) / 2);
      edges.push(
        `<path d="M${round(box.x)},${fromY} C${round(box.x)},${midY} ${round(child.x)},${midY} ${round(child.x)},${toY}" ` +
          `fill="none" stroke="#64748b" stroke-width="1.5"/>`,
      );
      draw(child);
    }
  };
  draw(root);
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
    `role="img" aria-label="${escapeXml(tree.label)}">` +
    `<rect width="100%" height="100%" fill="#ffffff"/>` +
    `<g class="edges">${edges.join("")}</g><g class="nodes">${boxes.join("")}</g></svg>`
  );
}
