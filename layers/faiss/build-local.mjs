#!/usr/bin/env node
// Builds faiss-node against the system FAISS (Debian/Ubuntu `libfaiss-dev`) so that `npm install`
// ends with a loadable module without faiss-node's own installer, which downloads a prebuilt
// binary or clones FAISS from GitHub. Runs as the root package's postinstall; idempotent.
//
// Exit codes: 0 when faiss-node loads afterwards; 1 with a message naming what to install.
import { execFileSync, spawnSync } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, "../..");
const pkgDir = join(root, "node_modules", "faiss-node");
const SYSTEM_PACKAGES = ["libfaiss-dev", "libopenblas-dev", "g++", "make", "python3"];

function log(message) {
  console.log(`[faiss] ${message}`);
}

function fail(message) {
  console.error(`\n[faiss] ${message}\n`);
  process.exit(1);
}

/** Smoke test in a child process: a native crash must not take the installer down with it. */
function loads() {
  const probe = `
    const { IndexFlatIP } = require(${JSON.stringify(pkgDir)});
    const index = new IndexFlatIP(2);
    index.add([1, 0, 0, 1]);
    const copy = IndexFlatIP.fromBuffer(index.toBuffer());
    const hit = copy.search([0, 1], 1);
    if (hit.labels[0] !== 1) throw new Error("unexpected search result");
  `;
  const result = spawnSync(process.execPath, ["-e", probe], { stdio: "pipe", encoding: "utf8" });
  return result.status === 0;
}

function findStaticFaiss() {
  const candidates = ["/usr/lib", "/usr/local/lib"];
  for (const base of candidates) {
    if (existsSync(join(base, "libfaiss.a"))) return join(base, "libfaiss.a");
    if (!existsSync(base)) continue;
    for (const entry of readdirSync(base)) {
      const path = join(base, entry, "libfaiss.a");
      if (entry.endsWith("-linux-gnu") && existsSync(path)) return path;
    }
  }
  return undefined;
}

function ensureSystemFaiss() {
  if (existsSync("/usr/include/faiss/Index.h") && findStaticFaiss()) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const hasApt = spawnSync("sh", ["-c", "command -v apt-get"], { stdio: "ignore" }).status === 0;
  if (isRoot && hasApt) {
    log(`installing system packages: ${SYSTEM_PACKAGES.join(" ")}`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const update = spawnSync("apt-get", ["update", "-qq"], { stdio: "inherit", env });
    const install = spawnSync("apt-get", ["install", "-y", "-qq", ...SYSTEM_PACKAGES], { stdio: "inherit", env });
    if (update.status === 0 && install.status === 0 && findStaticFaiss()) return;
  }
  fail(
    `FAISS development files were not found (need /usr/include/faiss and libfaiss.a).\n` +
      `Install them, then run npm install again:\n` +
      `  sudo apt-get update && sudo apt-get install -y ${SYSTEM_PACKAGES.join(" ")}`,
  );
}

/** npm drops an optional dependency whose own install failed (older npm ignores allowScripts): fetch it again. */
function ensurePackageSource() {
  if (existsSync(join(pkgDir, "src", "faiss.cc"))) return;
  const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const version = manifest.optionalDependencies?.["faiss-node"] ?? manifest.dependencies?.["faiss-node"];
  if (!version) fail("faiss-node is not declared in package.json");
  log(`restoring faiss-node@${version} source`);
  const work = mkdtempSync(join(tmpdir(), "faiss-node-"));
  try {
    const tarball = execFileSync("npm", ["pack", `faiss-node@${version}`, "--silent", "--pack-destination", work], {
      encoding: "utf8",
      cwd: work,
    }).trim();
    rmSync(pkgDir, { recursive: true, force: true });
    mkdirSync(pkgDir, { recursive: true });
    execFileSync("tar", ["xzf", join(work, tarball.split("\n").pop()), "-C", pkgDir, "--strip-components=1"]);
  } catch (error) {
    fail(`could not fetch faiss-node@${version} from the npm registry: ${error.message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Bumped whenever the build changes, so an existing build from an older recipe is redone. */
const BUILD_RECIPE = "collabry-faiss-build-2";

/**
 * faiss-node 0.5.1's `search` never frees its copy of the query (`xq`): about 1.5 KB leaks per
 * call, which adds up to megabytes per question for a student with many sources. The one-line
 * fix is applied to the unpacked source before compiling (idempotent; nothing is committed).
 */
function patchSource() {
  const file = join(pkgDir, "src", "faiss.cc");
  const source = readFileSync(file, "utf8");
  if (source.includes("delete[] xq;")) return;
  const anchor =
    '    delete[] I;\n    delete[] D;\n\n    Napi::Object results = Napi::Object::New(env);\n    results.Set("distances", arr_distances);';
  if (!source.includes(anchor))
    fail("faiss-node's search() is not what this build expects; check the query-buffer patch.");
  writeFileSync(
    file,
    source.replace(anchor, anchor.replace("    delete[] D;\n", "    delete[] D;\n    delete[] xq;\n")),
  );
}

/** binding.gyp of our own: node-gyp compiles faiss-node's single source file against the static FAISS. */
function writeBindingGyp(staticLib) {
  const addonApi = dirname(require_resolve("node-addon-api/package.json"));
  const gyp = {
    targets: [
      {
        target_name: "faiss-node",
        sources: ["src/faiss.cc"],
        include_dirs: [addonApi, "/usr/include"],
        defines: ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
        "cflags!": ["-fno-exceptions"],
        "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
        // RTTI is required: FAISS's write_index uses dynamic_cast and segfaults without it.
        cflags_cc: [
          "-std=c++17",
          "-fexceptions",
          "-frtti",
          "-fopenmp",
          "-O3",
          `-include ${join(pkgDir, "faiss-compat.h")}`,
        ],
        libraries: ["-Wl,--whole-archive", staticLib, "-Wl,--no-whole-archive", "-lopenblas", "-lgomp"],
      },
    ],
  };
  writeFileSync(join(pkgDir, "binding.gyp"), `${JSON.stringify(gyp, null, 2)}\n`);
  copyFileSync(join(here, "faiss-compat.h"), join(pkgDir, "faiss-compat.h"));
}

function require_resolve(specifier) {
  const path = join(root, "node_modules", specifier);
  if (!existsSync(path)) fail(`${specifier} is missing: run npm install again`);
  return path;
}

function nodeGypCommand() {
  // npm exposes its bundled node-gyp to lifecycle scripts; outside npm fall back to PATH.
  const bundled = process.env.npm_config_node_gyp;
  if (bundled && existsSync(bundled)) return [process.execPath, [bundled]];
  const npmDir = dirname(
    dirname(execFileSync("sh", ["-c", 'readlink -f "$(command -v npm)"'], { encoding: "utf8" }).trim()),
  );
  const guess = join(npmDir, "node_modules", "node-gyp", "bin", "node-gyp.js");
  if (existsSync(guess)) return [process.execPath, [guess]];
  return ["node-gyp", []];
}

function build() {
  const staticLib = findStaticFaiss();
  writeBindingGyp(staticLib);
  const [command, prefix] = nodeGypCommand();
  const nodedir = existsSync("/usr/include/node/node_api.h") ? ["--nodedir=/usr"] : [];
  log(`building faiss-node against ${staticLib}`);
  const result = spawnSync(command, [...prefix, "rebuild", ...nodedir, "--jobs=max"], {
    cwd: pkgDir,
    stdio: ["ignore", "pipe", "pipe"],
    encoding: "utf8",
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout.slice(-4000));
    process.stderr.write(result.stderr.slice(-4000));
    fail("building faiss-node failed (see the compiler output above).");
  }
}

if (process.env.COLLABRY_SKIP_FAISS_BUILD === "1") {
  log("skipped (COLLABRY_SKIP_FAISS_BUILD=1)");
  process.exit(0);
}
const recipeMarker = join(pkgDir, "build", "recipe.txt");
const builtByThisRecipe = existsSync(recipeMarker) && readFileSync(recipeMarker, "utf8").trim() === BUILD_RECIPE;
if (builtByThisRecipe && existsSync(join(pkgDir, "build", "Release", "faiss-node.node")) && loads()) {
  log("faiss-node is already built and loads");
  process.exit(0);
}
ensurePackageSource();
ensureSystemFaiss();
const started = Date.now();
patchSource();
build();
writeFileSync(recipeMarker, `${BUILD_RECIPE}\n`);
if (!loads())
  fail("faiss-node was built but does not load; check that libopenblas0, libgomp1 and libgfortran5 are installed.");
log(`faiss-node built and verified in ${((Date.now() - started) / 1000).toFixed(1)} s`);
