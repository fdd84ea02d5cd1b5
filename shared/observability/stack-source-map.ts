// Stack traces of logged errors, pointed at the sources a bundle was built from.
//
// A Lambda bundle is one minified file: its frames read `index.mjs:1:283117`. Node's
// --enable-source-maps would map every stack, but it reads and parses the bundle's source map at
// every cold start (~35 ms of a model function's init) and decodes the whole map (~180 ms) the first
// time any stack is formatted, whether or not anyone logs it (libraries build and read error stacks
// on normal paths). Here a stack is mapped only when an error is logged: the map beside the bundle
// is read on the first logged error of a process and its mappings are decoded only up to the frames'
// positions, with checkpoints kept so that later lookups decode a few hundred segments at most (for
// a model function's 2.6 MB map: ~10 ms to read, at most ~55 ms to decode, once per process).
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** A frame's position: the file as written in the stack (path or file: URL), 1-based line and column. */
const FRAME_POSITION = /((?:file:\/\/)?\/[^\s()]*?\.m?js):(\d+):(\d+)/g;
/** Maps read so far, by the frame's file as written (null: the file has no readable map). */
const maps = new Map<string, BundleSourceMap | null>();

/**
 * The stack with every frame of a file that has a source map beside it (`<file>.map`) rewritten to
 * the original source, line and column (`shared/http/app.ts:120:5`); other frames are unchanged.
 */
export function sourceMappedStack(stack: string): string {
  return stack.replace(FRAME_POSITION, (whole, file: string, line: string, column: string) => {
    const map = mapFor(file);
    const original = map?.originalPosition(Number(line) - 1, Number(column) - 1);
    return original === undefined ? whole : `${original.source}:${original.line}:${original.column}`;
  });
}

/**
 * Maps the stack of `error` and of every error in its `cause` chain in place, so that a log line
 * shows source positions; returns the error. An error whose stack cannot be replaced is left as is.
 */
export function withSourceMappedStack<T extends Error>(error: T): T {
  const seen = new Set<unknown>();
  for (let current: unknown = error; current instanceof Error && !seen.has(current); current = current.cause) {
    seen.add(current);
    if (typeof current.stack !== "string") continue;
    const mapped = sourceMappedStack(current.stack);
    if (mapped === current.stack) continue;
    try {
      current.stack = mapped;
    } catch {
      // A frozen error keeps its stack.
    }
  }
  return error;
}

function mapFor(file: string): BundleSourceMap | null {
  const known = maps.get(file);
  if (known !== undefined) return known;
  let map: BundleSourceMap | null = null;
  try {
    const path = file.startsWith("file:") ? fileURLToPath(file) : file;
    map = BundleSourceMap.parse(readFileSync(`${path}.map`, "utf8"));
  } catch {
    // No map beside the file (a module run from source, a bundle built without maps): frames stay.
  }
  maps.set(file, map);
  return map;
}

export interface OriginalPosition {
  /** The source as listed in the map, without leading `./` and `../` segments. */
  source: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
}

/** A decoded segment: its absolute values, and where its text ends in the mappings. */
interface Segment {
  /** Index of the `,` or `;` after the segment (or the mappings' length). */
  end: number;
  /** Generated column. */
  column: number;
  source: number;
  line: number;
  sourceColumn: number;
  /** False for a segment that maps its generated range to no source. */
  hasSource: boolean;
}

/** Segments decoded between two checkpoints on one generated line. */
const CHECKPOINT_EVERY = 256;

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE64_VALUE = new Int8Array(128).fill(-1);
for (let index = 0; index < BASE64.length; index += 1) BASE64_VALUE[BASE64.charCodeAt(index)] = index;

const COMMA = 44;
const SEMICOLON = 59;

/**
 * A source map (version 3) decoded lazily: its mappings are scanned forward only as far as the
 * lines asked for, and every CHECKPOINT_EVERY-th segment of a line is kept, so each position costs a
 * binary search and a scan of at most that many segments.
 */
export class BundleSourceMap {
  /** Checkpoint segments of each generated line decoded so far, in column order (index = line). */
  private readonly checkpoints: Segment[][] = [];
  /** Where the next line's text starts, and the source fields carried over from the lines before. */
  private next = { start: 0, source: 0, line: 0, sourceColumn: 0 };
  /** The fields of the segment being read (see readFields). */
  private readonly deltas = new Int32Array(5);

  private constructor(
    private readonly mappings: string,
    private readonly sources: readonly string[],
  ) {}

  /** Reads a source map's JSON; throws on anything but a version 3 map with mappings and sources. */
  static parse(json: string): BundleSourceMap {
    const payload: unknown = JSON.parse(json);
    if (typeof payload !== "object" || payload === null) throw new Error("a source map is a JSON object");
    const { version, mappings, sources, sourceRoot } = payload as Record<string, unknown>;
    if (version !== 3 || typeof mappings !== "string" || !Array.isArray(sources)) {
      throw new Error("not a version 3 source map");
    }
    const root = typeof sourceRoot === "string" && sourceRoot !== "" ? `${sourceRoot.replace(/\/+$/, "")}/` : "";
    return new BundleSourceMap(
      mappings,
      sources.map((source) => displayedSource(`${root}${typeof source === "string" ? source : ""}`)),
    );
  }

  /**
   * The original position of a 0-based generated line and column: the closest segment with a
   * source at or before the column on that line (as Node's own source maps resolve a frame);
   * undefined when there is none.
   */
  originalPosition(line: number, column: number): OriginalPosition | undefined {
    if (!Number.isInteger(line) || !Number.isInteger(column) || line < 0 || column < 0) return undefined;
    while (this.checkpoints.length <= line && this.next.start <= this.mappings.length) this.decodeLine();
    const marks = this.checkpoints[line];
    if (marks === undefined || marks.length === 0 || (marks[0] as Segment).column > column) return undefined;
    let low = 0;
    let high = marks.length - 1;
    while (low < high) {
      const middle = (low + high + 1) >> 1;
      if ((marks[middle] as Segment).column <= column) low = middle;
      else high = middle - 1;
    }
    let segment = marks[low] as Segment;
    let found: Segment | undefined = segment.hasSource ? segment : undefined;
    while (this.mappings.charCodeAt(segment.end) === COMMA) {
      const following = this.readSegment(segment.end + 1, segment);
      if (following === undefined || following.column > column) break;
      segment = following;
      if (segment.hasSource) found = segment;
    }
    const source = found === undefined ? undefined : this.sources[found.source];
    if (found === undefined || source === undefined) return undefined;
    return { source, line: found.line + 1, column: found.sourceColumn + 1 };
  }

  /**
   * Decodes the next generated line to its end, keeping its checkpoint segments. No object is made
   * per segment (a 2 MiB bundle's map has ~400k of them), only per checkpoint.
   */
  private decodeLine(): void {
    const { mappings, deltas } = this;
    const length = mappings.length;
    const marks: Segment[] = [];
    // Generated columns restart on each line; the source fields carry over from the line before.
    let { source, line, sourceColumn } = this.next;
    let column = 0;
    let position = this.next.start;
    let count = 0;
    while (position < length) {
      const code = mappings.charCodeAt(position);
      if (code === SEMICOLON) break;
      if (code === COMMA) {
        position += 1;
        continue;
      }
      const end = readFields(mappings, position, deltas);
      // A malformed segment: the rest of the line is not trusted.
      if (end < 0) break;
      position = end;
      column += deltas[0] as number;
      const hasSource = deltas[4] !== 1;
      if (hasSource) {
        source += deltas[1] as number;
        line += deltas[2] as number;
        sourceColumn += deltas[3] as number;
      }
      if (count % CHECKPOINT_EVERY === 0) marks.push({ end, column, source, line, sourceColumn, hasSource });
      count += 1;
    }
    while (position < length && mappings.charCodeAt(position) !== SEMICOLON) position += 1;
    this.checkpoints.push(marks);
    this.next = { start: position + 1, source, line, sourceColumn };
  }

  /** Reads the segment starting at `start`, its fields relative to `previous`; undefined if malformed. */
  private readSegment(start: number, previous: Segment): Segment | undefined {
    const { deltas } = this;
    const end = readFields(this.mappings, start, deltas);
    if (end < 0) return undefined;
    const hasSource = deltas[4] !== 1;
    return {
      end,
      column: previous.column + (deltas[0] as number),
      source: hasSource ? previous.source + (deltas[1] as number) : previous.source,
      line: hasSource ? previous.line + (deltas[2] as number) : previous.line,
      sourceColumn: hasSource ? previous.sourceColumn + (deltas[3] as number) : previous.sourceColumn,
      hasSource,
    };
  }
}

/**
 * Reads the base64 VLQ fields of the segment at `start`: the first four into `out[0..3]`, their
 * count into `out[4]`. Returns where the segment ends (its `,` or `;`, or the end of the mappings),
 * or -1 for a malformed segment (a character outside base64, an overlong value, or a field count
 * other than 1, 4 or 5).
 */
function readFields(mappings: string, start: number, out: Int32Array): number {
  const length = mappings.length;
  let fields = 0;
  let position = start;
  while (position < length) {
    let code = mappings.charCodeAt(position);
    if (code === COMMA || code === SEMICOLON) break;
    let value = 0;
    let shift = 0;
    let digit = 0;
    do {
      digit = code < 128 ? (BASE64_VALUE[code] as number) : -1;
      if (digit < 0 || shift > 30) return -1;
      value |= (digit & 31) << shift;
      shift += 5;
      position += 1;
      code = position < length ? mappings.charCodeAt(position) : SEMICOLON;
    } while (digit & 32);
    if (fields < 4) out[fields] = value & 1 ? -(value >>> 1) : value >>> 1;
    fields += 1;
  }
  out[4] = fields;
  return fields === 1 || fields === 4 || fields === 5 ? position : -1;
}

/** `../../shared/http/app.ts` → `shared/http/app.ts`: where the project's sources are, not where the bundler ran. */
function displayedSource(source: string): string {
  return source.replace(/^(?:\.{1,2}\/)+/, "");
}
