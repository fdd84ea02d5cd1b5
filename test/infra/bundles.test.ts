// What each function's bundle may contain. esbuild keeps every module an entry can reach (an
// `import()` included), so a local-only adapter or another feature's routes imported anywhere on a
// function's path would be deployed, and loaded at its cold start. Bundled with the CDK construct's
// esbuild settings (bench/cold-start/bundle-options.ts), metafile only.
import { build, type Metafile } from "esbuild";
import { beforeAll, describe, expect, it } from "vitest";
import { featureRoutes } from "#functions/index.ts";
import { cdkEsbuildOptions } from "../../bench/cold-start/bundle-options.ts";
import { DOCUMENT_PARSER_NODE_MODULES, HTML_READER_NODE_MODULES } from "../../infra/lib/constructs/document-parsers.ts";
import { profileFor } from "../../infra/lib/features.ts";
import { repoRoot } from "./support.ts";

/** The local runtime only: embedded store, filesystem blobs, in-process queue, the all-features engine. */
const LOCAL_ONLY = [
  "node_modules/mingo/",
  "node_modules/better-sqlite3/",
  "shared/store/embedded.ts",
  "shared/blobs/filesystem.ts",
  "shared/queue/in-process.ts",
  "shared/engine.ts",
  "infra/local/",
];
/** The parsers installed beside a bundle (never in it): PDF, DOCX, HTML and OCR. */
const PARSERS = ["unpdf", "mammoth", "tesseract.js", "linkedom", "@mozilla/readability"];
/** The ingestion worker and the qa/quiz file routes parse documents. */
const PARSES_DOCUMENTS = new Set(["ingest-worker", "qa", "quiz"]);
/** The documents routes that add a page by URL read web pages. */
const READS_WEB_PAGES = new Set(["documents"]);
/** Every request calls the model: LangChain linked into the bundle (shared/engine/model-clients.ts). */
const LINKS_MODEL_CLIENTS = new Set(["chat", "qa", "quiz", "summarize", "mindmap", "studyplan", "sessions-streaming"]);
/** Few requests call the model: LangChain imported on the first call (model-clients-on-demand.ts). */
const IMPORTS_MODEL_CLIENTS = new Set(["flashcards"]);
/** Embeds every message it receives and never chats: the embeddings client alone, linked (shared/engine/embedder-client.ts). */
const LINKS_EMBEDDER_CLIENT = new Set(["ingest-worker"]);

const entries: Record<string, string> = {
  authorizer: "functions/authorizer/handler.ts",
  "ingest-worker": "functions/ingest/worker.ts",
  ...Object.fromEntries(featureRoutes.map(({ feature }) => [feature, `functions/${feature}/handler.ts`])),
  // A feature's own streaming entry is a bundle of its own (infra/lib/features.ts `streamingEntry`).
  ...Object.fromEntries(
    featureRoutes.flatMap(({ feature }) => {
      const { streamingEntry } = profileFor(feature).profile;
      return streamingEntry ? [[`${feature}-streaming`, `functions/${feature}/${streamingEntry}`]] : [];
    }),
  ),
};
const inputs = new Map<string, string[]>();
/** External imports other than node builtins, as `path kind`. */
const externals = new Map<string, string[]>();
/** Every bundled module with the modules it imports (resolved paths). */
let imports: Record<string, string[]> = {};
/** Every bundled module with the modules it imports through `import()`. */
let dynamicImports: Record<string, string[]> = {};

beforeAll(async () => {
  // One build for every entry: the graphs share most modules.
  // The parsers are external to every function here, as the CDK leaves them to the functions that
  // install them: a function that reaches one shows it among its external imports.
  const options = cdkEsbuildOptions(repoRoot, "", "", DOCUMENT_PARSER_NODE_MODULES);
  delete options.outfile;
  const result = await build({
    ...options,
    entryPoints: entries,
    outdir: "bundles",
    write: false,
    // What is bundled does not depend on these; they only slow the build.
    minify: false,
    sourcemap: false,
  });
  const metafile = result.metafile as Metafile;
  imports = Object.fromEntries(
    Object.entries(metafile.inputs).map(([input, { imports: imported }]) => [input, imported.map(({ path }) => path)]),
  );
  dynamicImports = Object.fromEntries(
    Object.entries(metafile.inputs).map(([input, { imports: imported }]) => [
      input,
      imported.filter(({ kind }) => kind === "dynamic-import").map(({ path }) => path),
    ]),
  );
  for (const output of Object.values(metafile.outputs)) {
    const name = Object.entries(entries).find(([, entry]) => entry === output.entryPoint)?.[0];
    if (name) {
      inputs.set(name, Object.keys(output.inputs));
      externals.set(
        name,
        output.imports.filter((entry) => entry.external).map((entry) => `${entry.path} ${entry.kind}`),
      );
    }
  }
}, 120_000);

function containing(name: string, fragments: readonly string[]): string[] {
  return fragments.filter((fragment) => (inputs.get(name) ?? []).some((input) => input.includes(fragment)));
}

describe("function bundles", () => {
  it("are built for every function", () => {
    // Assess
    expect([...inputs.keys()].sort()).toEqual(Object.keys(entries).sort());
  });

  it("hold no local-only adapter", () => {
    for (const name of Object.keys(entries)) {
      // Assess
      expect(containing(name, LOCAL_ONLY), name).toEqual([]);
    }
  });

  it("import the document parsers from beside the bundle on first use, only where documents are read", () => {
    for (const name of Object.keys(entries)) {
      // Act
      const bundled = containing(
        name,
        PARSERS.map((parser) => `node_modules/${parser}/`),
      );
      const imported = (externals.get(name) ?? []).filter((entry) => PARSERS.includes(entry.split(" ")[0] ?? ""));

      // Assess: `import()` only, so a cold start never loads them.
      expect(bundled, name).toEqual([]);
      const expected = PARSES_DOCUMENTS.has(name) ? PARSERS : READS_WEB_PAGES.has(name) ? HTML_READER_NODE_MODULES : [];
      expect([...new Set(imported)].sort(), name).toEqual(expected.map((parser) => `${parser} dynamic-import`).sort());
    }
  });

  it("hold the extraction entry point only where documents are parsed", () => {
    for (const name of Object.keys(entries)) {
      // Assess
      expect(containing(name, ["shared/extraction/extract.ts"]).length > 0, name).toBe(PARSES_DOCUMENTS.has(name));
    }
  });

  it("hold only their own feature's routes", () => {
    for (const name of Object.keys(entries).filter((entry) => entry !== "authorizer" && entry !== "ingest-worker")) {
      // Act
      const feature = name.replace(/-streaming$/, "");
      const apis = (inputs.get(name) ?? []).filter((input) => /^functions\/[a-z]+\/api\.ts$/.test(input));

      // Assess
      expect(apis, name).toEqual([`functions/${feature}/api.ts`]);
    }
  });

  it("evaluate only their own feature's route schemas (each builds dozens of zod schemas at import)", () => {
    // The meta function serves the OpenAPI document, which holds every feature's schemas.
    const featureFunctions = Object.keys(entries).filter(
      (entry) => !["authorizer", "ingest-worker", "meta"].includes(entry),
    );
    for (const name of featureFunctions) {
      // Act
      const feature = name.replace(/-streaming$/, "");
      const schemas = (inputs.get(name) ?? []).filter((input) => /^functions\/[a-z]+\/schema\.ts$/.test(input));

      // Assess
      expect(schemas, name).toEqual([`functions/${feature}/schema.ts`]);
    }
  });

  it("link the model clients where every request calls the model, import them on first use where few do", () => {
    for (const name of Object.keys(entries)) {
      // Act
      const linked = containing(name, ["shared/engine/model-clients.ts"]).length > 0;
      const onDemand = containing(name, ["shared/engine/model-clients-on-demand.ts"]).length > 0;
      const embedderLinked = containing(name, ["shared/engine/embedder-client.ts"]).length > 0;

      // Assess
      expect({ linked, onDemand, embedderLinked }, name).toEqual({
        linked: LINKS_MODEL_CLIENTS.has(name),
        onDemand: IMPORTS_MODEL_CLIENTS.has(name),
        embedderLinked: LINKS_EMBEDDER_CLIENT.has(name),
      });
      // The worker embeds and never chats: no chat client in its bundle.
      if (embedderLinked) expect(containing(name, ["shared/llm/openai-compatible.ts"]), name).toEqual([]);
      // The others (meta, usage, documents, the buffered sessions routes) hold no LangChain at all.
      if (!linked && !onDemand && !embedderLinked)
        expect(containing(name, ["node_modules/@langchain/", "node_modules/openai/"]), name).toEqual([]);
    }
    // An `import()` of the clients anywhere else would make esbuild wrap LangChain in lazy
    // initialisers again in the bundles that link it (parsed twice at every cold start).
    const clients = ["shared/llm/openai-compatible.ts", "shared/embeddings/openai-compatible.ts"];
    const importers = Object.keys(dynamicImports).filter((input) =>
      dynamicImports[input]?.some((path) => clients.includes(path)),
    );
    expect(importers).toEqual(["shared/engine/model-clients-on-demand.ts"]);
  });

  it("import the AWS SDK clients on first use, never with the bundle", () => {
    for (const name of Object.keys(entries)) {
      // Act
      const sdk = (externals.get(name) ?? []).filter((entry) => entry.startsWith("@aws-sdk/client-"));
      const loaded = sdk.filter((entry) => !entry.endsWith(" dynamic-import"));

      // Assess: every function reads secrets by reference, so each one can load Secrets Manager.
      expect(sdk, name).toContain("@aws-sdk/client-secrets-manager dynamic-import");
      expect(loaded, name).toEqual([]);
    }
  });

  it("hold no zod locale but English: the authorizer through the engine's own z, the others through the zod alias", () => {
    for (const name of Object.keys(entries)) {
      // Act: the language files (zod's index of them stays, as an empty init function, where zod
      // is initialised lazily).
      const zod = (inputs.get(name) ?? []).filter((input) => input.includes("node_modules/zod/"));
      const locales = zod.filter(
        (input) => input.includes("node_modules/zod/v4/locales/") && !input.endsWith("/locales/index.js"),
      );

      // Assess: English (the default messages) only, and zod's schemas still there.
      expect(zod.length, name).toBeGreaterThan(0);
      expect(locales, name).toEqual(["node_modules/zod/v4/locales/en.js"]);
    }
  });

  it("parse URLs with Node's own URL: whatwg-url and its Unicode tables are in no function", () => {
    // Act
    const shimImporters = Object.keys(imports).filter((input) =>
      imports[input]?.includes("shared/store/whatwg-url.ts"),
    );

    // Assess: only MongoDB's connection-string parser imported whatwg-url.
    for (const name of Object.keys(entries)) {
      expect(containing(name, ["node_modules/whatwg-url/", "node_modules/tr46/"]), name).toEqual([]);
    }
    expect(shimImporters).toEqual(["node_modules/mongodb-connection-string-url/lib/index.js"]);
  });

  it("leave the faiss layer's native module to the layer", () => {
    for (const name of Object.keys(entries)) {
      // Assess
      expect(containing(name, ["node_modules/faiss-node/"]), name).toEqual([]);
    }
  });
});
