// The document parsers of the functions that read files or web pages themselves. They are left out
// of the bundle and installed beside it (NodejsFunction `nodeModules`); shared/extraction imports
// them on first use, so a cold start that parses nothing never loads them.
import { createRequire } from "node:module";
import * as lambda from "aws-cdk-lib/aws-lambda";
import type { BundlingOptions } from "aws-cdk-lib/aws-lambda-nodejs";

/** What a function parses itself: file attachments or uploads ("documents"), or pages added by URL. */
export type ParsedContent = "documents" | "web pages";

/** The web page reader: main content (Readability) over linkedom's DOM. Also reads HTML files and DOCX output. */
export const HTML_READER_NODE_MODULES = ["linkedom", "@mozilla/readability"];

/**
 * What OCR reads from files at run time, which a single-file bundle cannot hold: tesseract.js starts
 * its worker script by path, that worker loads the wasm core (tesseract.js-core), the English model
 * is read from @tesseract.js-data/eng, and scanned PDF pages are rendered by @napi-rs/canvas, a
 * native addon.
 */
export const OCR_NODE_MODULES = ["tesseract.js", "tesseract.js-core", "@tesseract.js-data/eng", "@napi-rs/canvas"];

/**
 * Files of OCR's packages that OCR never reads, removed after the install (~46 MB of each asset,
 * which Lambda downloads at a cold start): tesseract.js-core's engines without LSTM (ocr.ts always
 * asks for OEM.LSTM_ONLY; tesseract.js picks the plain, SIMD or relaxed-SIMD LSTM core by what the
 * CPU offers, so all three stay), the browser builds with the wasm inlined (*.wasm.js; Node reads
 * the .wasm file), and the English models other than best_int (ocr.ts reads `${langPath}_best_int`).
 * Paths are relative to node_modules.
 */
export const OCR_UNUSED_FILES = [
  ...["tesseract-core", "tesseract-core-simd", "tesseract-core-relaxedsimd"].flatMap((core) =>
    [".js", ".wasm", ".wasm.js"].map((extension) => `tesseract.js-core/${core}${extension}`),
  ),
  ...["tesseract-core-lstm", "tesseract-core-simd-lstm", "tesseract-core-relaxedsimd-lstm"].map(
    (core) => `tesseract.js-core/${core}.wasm.js`,
  ),
  "@tesseract.js-data/eng/4.0.0",
];

/** Every parser of uploaded files: PDF (unpdf, pdf.js), DOCX (mammoth), HTML and OCR. */
export const DOCUMENT_PARSER_NODE_MODULES = ["unpdf", "mammoth", ...HTML_READER_NODE_MODULES, ...OCR_NODE_MODULES];

/** The packages installed beside the bundle of a function that parses `parses`. */
export function parserNodeModules(parses: ParsedContent | undefined): readonly string[] {
  if (parses === "documents") return DOCUMENT_PARSER_NODE_MODULES;
  if (parses === "web pages") return HTML_READER_NODE_MODULES;
  return [];
}

/**
 * The canvas binary for the function's architecture. @napi-rs/canvas takes it from a per-platform
 * optional package, which npm picks for the machine that installs (a Mac, an x86_64 build host for
 * an arm64 function): so after the install the Lambda's own package is unpacked beside it, at the
 * version @napi-rs/canvas pins, whatever the build host. `npm pack` only downloads the tarball, and
 * only when the install did not already bring that package (a build host of the same platform).
 */
export function canvasBinaryPackage(architecture: lambda.Architecture): { name: string; version: string } {
  const cpu = architecture.name === lambda.Architecture.ARM_64.name ? "arm64" : "x64";
  const name = `@napi-rs/canvas-linux-${cpu}-gnu`;
  const manifest = createRequire(import.meta.url)("@napi-rs/canvas/package.json") as {
    optionalDependencies?: Record<string, string>;
  };
  const version = manifest.optionalDependencies?.[name];
  if (!version) throw new Error(`@napi-rs/canvas names no ${name} binary package`);
  return { name, version };
}

/**
 * The bundling of a function that parses `parses`: its parsers installed beside the bundle, canvas
 * for its architecture, OCR's unused files removed.
 */
export function parserBundling(
  parses: ParsedContent,
  architecture: lambda.Architecture,
): Pick<BundlingOptions, "nodeModules" | "commandHooks"> {
  const nodeModules = [...parserNodeModules(parses)];
  if (!nodeModules.includes("@napi-rs/canvas")) return { nodeModules };
  const { name, version } = canvasBinaryPackage(architecture);
  const tarball = `${name.slice(1).replace("/", "-")}-${version}.tgz`;
  return {
    nodeModules,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir, outputDir) => [
        `if [ ! -f "${outputDir}/node_modules/${name}/package.json" ]; then ` +
          `mkdir -p "${outputDir}/node_modules/${name}" && ` +
          `npm pack --silent --pack-destination "${outputDir}" ${name}@${version} && ` +
          `tar -xzf "${outputDir}/${tarball}" -C "${outputDir}/node_modules/${name}" --strip-components=1 && ` +
          `rm -f "${outputDir}/${tarball}"; fi`,
        `rm -rf ${OCR_UNUSED_FILES.map((file) => `"${outputDir}/node_modules/${file}"`).join(" ")}`,
      ],
    },
  };
}
