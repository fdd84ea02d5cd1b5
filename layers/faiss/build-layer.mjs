#!/usr/bin/env node
// Assembles the faiss-node Lambda layer from an already-built faiss-node:
//   out/nodejs/node_modules/faiss-node   (package.json, lib/, build/Release/faiss-node.node)
//   out/nodejs/node_modules/bindings, file-uri-to-path   (faiss-node's runtime dependencies)
//   out/lib/*.so*                        (shared libraries the addon needs that Lambda lacks)
// Lambda puts /opt/nodejs/node_modules on the module path and /opt/lib on LD_LIBRARY_PATH.
//
// It does not compile anything: run it where faiss-node was built for the target, i.e. inside the
// Amazon Linux 2023 container described in README.md (or, for a synth-only layer, on any machine
// after `npm install` with --allow-glibc-mismatch). It refuses a binary of another architecture and,
// unless told otherwise, one that needs a newer glibc/libstdc++ than Lambda's Amazon Linux 2023.
//
// Usage: node layers/faiss/build-layer.mjs [--arch x86_64|arm64] [--module-dir DIR] [--out DIR]
//                                          [--allow-glibc-mismatch]
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { arch as hostArch } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");

/** What Lambda's nodejs22.x (Amazon Linux 2023) provides: glibc 2.34, libstdc++ of GCC 11. */
const LAMBDA_GLIBC = "2.34";
const LAMBDA_GLIBCXX = "3.4.29";
/** Libraries of the runtime image itself: never shipped in the layer (a second libc breaks the process). */
const PROVIDED = [
  /^linux-vdso/,
  /^ld-linux/,
  /^libc\.so/,
  /^libm\.so/,
  /^libdl\.so/,
  /^libpthread\.so/,
  /^librt\.so/,
  /^libstdc\+\+\.so/,
  /^libgcc_s\.so/,
];
/** ELF e_machine values. */
const MACHINES = { x86_64: 0x3e, arm64: 0xb7 };

const { values } = parseArgs({
  options: {
    arch: { type: "string", default: hostArch() === "arm64" ? "arm64" : "x86_64" },
    "module-dir": { type: "string", default: join(root, "node_modules", "faiss-node") },
    out: { type: "string", default: join(here, "out") },
    "allow-glibc-mismatch": { type: "boolean", default: false },
  },
});

function log(message) {
  console.log(`[faiss-layer] ${message}`);
}

function fail(message) {
  console.error(`\n[faiss-layer] ${message}\n`);
  process.exit(1);
}

const arch = values.arch;
if (!(arch in MACHINES)) fail(`--arch must be x86_64 or arm64, got ${arch}`);
const moduleDir = resolve(values["module-dir"]);
const outDir = resolve(values.out);
const addon = join(moduleDir, "build", "Release", "faiss-node.node");
if (!existsSync(addon)) {
  fail(`${addon} does not exist: build faiss-node first (npm install runs layers/faiss/build-local.mjs).`);
}

function elfMachine(path) {
  const header = readFileSync(path).subarray(0, 20);
  if (header.readUInt32BE(0) !== 0x7f454c46) fail(`${path} is not an ELF binary`);
  return header.readUInt16LE(18);
}

if (elfMachine(addon) !== MACHINES[arch]) {
  fail(`${addon} is not built for ${arch} (ELF machine 0x${elfMachine(addon).toString(16)}); build it on/for ${arch}.`);
}

/** Shared libraries the addon loads, as resolved on this machine (ldd). */
function sharedLibraries(path) {
  const output = execFileSync("ldd", [path], { encoding: "utf8" });
  const libraries = [];
  for (const line of output.split("\n")) {
    const match = line.match(/^\s*(\S+)\s+=>\s+(\S+)\s+\(/);
    if (!match) {
      if (/not found/.test(line)) fail(`unresolved shared library: ${line.trim()}`);
      continue;
    }
    const [, soname, resolved] = match;
    if (!PROVIDED.some((pattern) => pattern.test(soname))) libraries.push({ soname, path: realpathSync(resolved) });
  }
  return libraries;
}

/** Highest version of a symbol-version family (GLIBC_x.y, GLIBCXX_3.4.z) a binary references. */
function highestVersion(path, family) {
  const text = readFileSync(path).toString("latin1");
  const pattern = new RegExp(`${family}_(\\d+(?:\\.\\d+)+)`, "g");
  let highest;
  for (const [, version] of text.matchAll(pattern)) {
    if (!highest || compareVersions(version, highest) > 0) highest = version;
  }
  return highest;
}

function compareVersions(a, b) {
  const left = a.split(".").map(Number);
  const right = b.split(".").map(Number);
  for (let index = 0; index < Math.max(left.length, right.length); index += 1) {
    const difference = (left[index] ?? 0) - (right[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function packageDir(name, from) {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return candidate;
  }
  fail(`runtime dependency ${name} of faiss-node not found from ${from}`);
}

// ----- assemble -----
rmSync(outDir, { recursive: true, force: true });
const target = join(outDir, "nodejs", "node_modules", "faiss-node");
mkdirSync(join(target, "build", "Release"), { recursive: true });
copyFileSync(join(moduleDir, "package.json"), join(target, "package.json"));
cpSync(join(moduleDir, "lib"), join(target, "lib"), { recursive: true });
copyFileSync(addon, join(target, "build", "Release", "faiss-node.node"));
for (const dependency of ["bindings", "file-uri-to-path"]) {
  cpSync(packageDir(dependency, moduleDir), join(outDir, "nodejs", "node_modules", dependency), { recursive: true });
}

const libraries = sharedLibraries(addon);
mkdirSync(join(outDir, "lib"), { recursive: true });
for (const library of libraries) copyFileSync(library.path, join(outDir, "lib", library.soname));
log(`shipped libraries: ${libraries.map((library) => library.soname).join(", ") || "(none)"}`);

// ----- compatibility with Lambda's Amazon Linux 2023 -----
const binaries = [addon, ...libraries.map((library) => library.path)];
const needs = {
  glibc: binaries
    .map((path) => highestVersion(path, "GLIBC"))
    .filter(Boolean)
    .sort(compareVersions)
    .pop(),
  glibcxx: binaries
    .map((path) => highestVersion(path, "GLIBCXX"))
    .filter(Boolean)
    .sort(compareVersions)
    .pop(),
};
const problems = [];
if (needs.glibc && compareVersions(needs.glibc, LAMBDA_GLIBC) > 0) {
  problems.push(`needs GLIBC_${needs.glibc}, Lambda (Amazon Linux 2023) has ${LAMBDA_GLIBC}`);
}
if (needs.glibcxx && compareVersions(needs.glibcxx, LAMBDA_GLIBCXX) > 0) {
  problems.push(`needs GLIBCXX_${needs.glibcxx}, Lambda (Amazon Linux 2023) has ${LAMBDA_GLIBCXX}`);
}
if (problems.length > 0) {
  const message = `this build will not load in Lambda: ${problems.join("; ")}. Build inside the Amazon Linux 2023 container (layers/faiss/README.md).`;
  if (!values["allow-glibc-mismatch"]) {
    rmSync(outDir, { recursive: true, force: true });
    fail(message);
  }
  log(`WARNING ${message} Continuing (--allow-glibc-mismatch): fine for synth, not for deploy.`);
}

// ----- smoke test: the assembled layer alone (its lib/ on the library path) answers a search -----
if (arch === (hostArch() === "arm64" ? "arm64" : "x86_64")) {
  const probe = `
    const { IndexFlatIP } = require(${JSON.stringify(target)});
    const index = new IndexFlatIP(2);
    index.add([1, 0, 0, 1]);
    if (index.search([0, 1], 1).labels[0] !== 1) throw new Error("unexpected search result");
    // The methods our patch adds (build-local.mjs): a layer built from an unpatched faiss-node fails here.
    const ivf = require(${JSON.stringify(target)}).Index.fromFactory(2, "IVF1,Flat", 0);
    ivf.trainFloat32(new Float32Array([1, 0, 0, 1]));
    ivf.addFloat32(new Float32Array([1, 0, 0, 1]));
    ivf.setSearchParameter("nprobe", 1);
    if (ivf.searchFloat32(new Float32Array([0, 1]), 1).labels[0] !== 1) throw new Error("unexpected typed search result");
    if (ivf.reconstructFloat32(1)[1] !== 1) throw new Error("unexpected stored vector");
  `;
  const result = spawnSync(process.execPath, ["-e", probe], {
    env: { ...process.env, LD_LIBRARY_PATH: join(outDir, "lib") },
    encoding: "utf8",
  });
  if (result.status !== 0) fail(`the assembled layer does not load here:\n${result.stderr}`);
  log("smoke test passed (loaded from the layer directory with its own lib/)");
}

writeFileSync(
  join(outDir, "BUILD-INFO.json"),
  `${JSON.stringify(
    {
      architecture: arch,
      node: process.version,
      napi: process.versions.napi,
      requires: needs,
      lambdaCompatible: problems.length === 0,
      libraries: libraries.map((library) => library.soname),
      source: basename(moduleDir),
    },
    null,
    2,
  )}\n`,
);
log(`layer assembled in ${outDir} (${arch}${problems.length > 0 ? ", NOT Lambda-compatible" : ""})`);
