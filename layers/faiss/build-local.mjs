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
    const { Index, IndexFlatIP } = require(${JSON.stringify(pkgDir)});
    const index = new IndexFlatIP(2);
    index.add([1, 0, 0, 1]);
    const copy = IndexFlatIP.fromBuffer(index.toBuffer());
    const hit = copy.search([0, 1], 1);
    if (hit.labels[0] !== 1) throw new Error("unexpected search result");
    const hnsw = Index.fromFactory(2, "HNSW8,Flat", 0);
    hnsw.addFloat32(new Float32Array([1, 0, 0, 1]));
    hnsw.setSearchParameter("efSearch", 16);
    if (Index.fromBuffer(hnsw.toBuffer()).searchFloat32(new Float32Array([0, 1]), 1).labels[0] !== 1)
      throw new Error("unexpected typed search result");
    const ivf = Index.fromFactory(2, "IVF1,Flat", 0);
    ivf.trainFloat32(new Float32Array([1, 0, 0, 1]));
    ivf.addFloat32(new Float32Array([1, 0, 0, 1]));
    if (Index.fromBuffer(ivf.toBuffer()).reconstructFloat32(1)[1] !== 1) throw new Error("unexpected stored vector");
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
const BUILD_RECIPE = "collabry-faiss-build-6";

/**
 * Declared before the index classes: a reader of serialised indexes straight from JS memory, and
 * the exact inner-product scan used for single queries on flat indexes. FAISS 1.7.3 scans one
 * query on one thread with the SSE2 kernels of a generic build (~4.5 GB/s); this scan splits the
 * rows over the OpenMP threads and is compiled for AVX2/FMA too (picked at load time), which
 * brings a 100k x 384 scan close to the time it takes just to read the vectors.
 */
const BUFFER_READER = `
// Reads a serialised index in place from JavaScript memory (no intermediate copy of a large index).
struct CollabryBufferReader : faiss::IOReader
{
  const uint8_t *data;
  size_t size;
  size_t position = 0;
  CollabryBufferReader(const uint8_t *data_, size_t size_) : data(data_), size(size_) {}
  size_t operator()(void *ptr, size_t itemSize, size_t items) override
  {
    if (position >= size || itemSize == 0) return 0;
    size_t remaining = (size - position) / itemSize;
    if (remaining < items) items = remaining;
    std::memcpy(ptr, data + position, itemSize * items);
    position += itemSize * items;
    return items;
  }
};

__attribute__((target_clones("arch=haswell", "default")))
static void collabryDots(const float *rows, const float *query, size_t d, size_t n, float *out)
{
  for (size_t r = 0; r < n; r++)
  {
    const float *row = rows + r * d;
    float sum = 0;
#pragma omp simd reduction(+ : sum)
    for (size_t i = 0; i < d; i++) sum += row[i] * query[i];
    out[r] = sum;
  }
}

// Top k of one query by inner product, best first (FAISS's order); missing results get label -1.
static void collabryScanIP(const float *xb, size_t n, size_t d, const float *query, size_t k, float *distances, faiss::idx_t *labels)
{
  using Heap = faiss::CMin<float, faiss::idx_t>;
  // A second thread only pays off on big scans: below ~64k rows one thread finishes in a few
  // milliseconds, and on a busy machine waiting for a descheduled partner costs more than it saves.
  const int threads = n < 65536 ? 1 : omp_get_max_threads();
  std::vector<float> heapScores(threads * k);
  std::vector<faiss::idx_t> heapLabels(threads * k);
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const size_t low = n * t / threads, high = n * (t + 1) / threads;
    float *scores = heapScores.data() + t * k;
    faiss::idx_t *ids = heapLabels.data() + t * k;
    faiss::heap_heapify<Heap>(k, scores, ids);
    float block[256];
    for (size_t start = low; start < high; start += 256)
    {
      const size_t m = std::min<size_t>(256, high - start);
      collabryDots(xb + start * d, query, d, m, block);
      for (size_t j = 0; j < m; j++)
        if (block[j] > scores[0]) faiss::heap_replace_top<Heap>(k, scores, ids, block[j], start + j);
    }
  }
  faiss::heap_heapify<Heap>(k, distances, labels);
  for (size_t i = 0; i < threads * k; i++)
    if (heapLabels[i] >= 0 && heapScores[i] > distances[0])
      faiss::heap_replace_top<Heap>(k, distances, labels, heapScores[i], heapLabels[i]);
  faiss::heap_reorder<Heap>(k, distances, labels);
}
`;

/** Methods added to every index class: typed-array add/search and search-time parameters. */
const TYPED_METHODS = `
  static bool collabryFloats(const Napi::Env &env, const Napi::Value &value, size_t d, Napi::Float32Array &out)
  {
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    {
      Napi::TypeError::New(env, "Expected a Float32Array.").ThrowAsJavaScriptException();
      return false;
    }
    out = value.As<Napi::Float32Array>();
    if (d == 0 || out.ElementLength() % d != 0)
    {
      Napi::Error::New(env, "The Float32Array length is not a multiple of the dimension.").ThrowAsJavaScriptException();
      return false;
    }
    return true;
  }

  Napi::Value addFloat32(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    Napi::Float32Array vectors;
    if (info.Length() != 1 || !collabryFloats(env, info[0], index_->d, vectors)) return env.Undefined();
    try
    {
      index_->add(vectors.ElementLength() / index_->d, vectors.Data());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value trainFloat32(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    Napi::Float32Array vectors;
    if (info.Length() != 1 || !collabryFloats(env, info[0], index_->d, vectors)) return env.Undefined();
    try
    {
      index_->train(vectors.ElementLength() / index_->d, vectors.Data());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

  Napi::Value searchFloat32(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    Napi::Float32Array queries;
    if (info.Length() != 2 || !collabryFloats(env, info[0], index_->d, queries)) return env.Undefined();
    if (!info[1].IsNumber())
    {
      Napi::TypeError::New(env, "Invalid the second argument type, must be a Number.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int64_t k = info[1].As<Napi::Number>().Int64Value();
    if (k <= 0 || k > index_->ntotal || index_->ntotal > 2147483647)
    {
      Napi::Error::New(env, "k must be between 1 and ntotal (" + std::to_string(index_->ntotal) + ").")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const size_t nq = queries.ElementLength() / index_->d;
    std::vector<idx_t> labels(nq * k);
    auto distances = Napi::Float32Array::New(env, nq * k);
    try
    {
      auto *flat = dynamic_cast<faiss::IndexFlatIP *>(index_.get());
      if (flat != nullptr && nq == 1)
        collabryScanIP(flat->get_xb(), flat->ntotal, flat->d, queries.Data(), k, distances.Data(), labels.data());
      else
        index_->search(nq, queries.Data(), k, distances.Data(), labels.data());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto positions = Napi::Int32Array::New(env, nq * k);
    for (size_t i = 0; i < nq * k; i++) positions[i] = static_cast<int32_t>(labels[i]);
    Napi::Object results = Napi::Object::New(env);
    results.Set("distances", distances);
    results.Set("labels", positions);
    return results;
  }

  // One stored vector by position. An IVF index gets its direct map (8 bytes a vector) on the first call.
  Napi::Value reconstructFloat32(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    if (info.Length() != 1 || !info[0].IsNumber())
    {
      Napi::TypeError::New(env, "Expected a position.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    const int64_t key = info[0].As<Napi::Number>().Int64Value();
    if (key < 0 || key >= index_->ntotal)
    {
      Napi::Error::New(env, "position must be between 0 and ntotal - 1 (" + std::to_string(index_->ntotal) + ").")
          .ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto vector = Napi::Float32Array::New(env, index_->d);
    try
    {
      faiss::IndexIVF *ivf = faiss::ivflib::try_extract_index_ivf(index_.get());
      if (ivf != nullptr && ivf->direct_map.no()) ivf->make_direct_map(true);
      index_->reconstruct(key, vector.Data());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return vector;
  }

  Napi::Value setSearchParameter(const Napi::CallbackInfo &info)
  {
    Napi::Env env = info.Env();
    if (info.Length() != 2 || !info[0].IsString() || !info[1].IsNumber())
    {
      Napi::TypeError::New(env, "Expected a parameter name and a number.").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    try
    {
      faiss::ParameterSpace().set_index_parameter(
          index_.get(), info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::Number>().DoubleValue());
    }
    catch (const faiss::FaissException &ex)
    {
      Napi::Error::New(env, ex.what()).ThrowAsJavaScriptException();
    }
    return env.Undefined();
  }

`;

/** A patch step: `from` must occur in the pristine source (else the build stops), `to` replaces it. */
const PATCHES = [
  {
    // search() never frees its copy of the query (about 1.5 KB per call).
    what: "query-buffer leak in search()",
    from: "    delete[] I;\n    delete[] D;\n\n    Napi::Object results = Napi::Object::New(env);\n",
    to: "    delete[] I;\n    delete[] D;\n    delete[] xq;\n\n    Napi::Object results = Napi::Object::New(env);\n",
  },
  {
    what: "headers",
    from: "#include <faiss/impl/IDSelector.h>\n",
    to: `#include <faiss/impl/IDSelector.h>\n#include <faiss/AutoTune.h>\n#include <faiss/IVFlib.h>\n#include <faiss/utils/Heap.h>\n#include <omp.h>\n#include <algorithm>\n#include <cstring>\n#include <vector>\n${BUFFER_READER}`,
  },
  {
    // fromBuffer copied the bytes twice and never freed its reader: a large index leaked its size per load.
    what: "fromBuffer copies and leak",
    from:
      "    auto buffer = Napi::Buffer<uint8_t>::Copy(env, info[0].As<Napi::Buffer<uint8_t>>().Data(), info[0].As<Napi::Buffer<uint8_t>>().Length());\n" +
      "    faiss::VectorIOReader *reader = new faiss::VectorIOReader();\n" +
      "    reader->data = std::vector<uint8_t>(buffer.Data(), buffer.Data() + buffer.Length());\n",
    to:
      "    auto source = info[0].As<Napi::Buffer<uint8_t>>();\n" +
      "    CollabryBufferReader readerInPlace(source.Data(), source.Length());\n" +
      "    CollabryBufferReader *reader = &readerInPlace;\n",
  },
  {
    // toBuffer never freed its writer: every serialisation leaked the index's size.
    what: "toBuffer leak",
    from: "    faiss::VectorIOWriter *writer = new faiss::VectorIOWriter();\n",
    to: "    faiss::VectorIOWriter writerOnStack;\n    faiss::VectorIOWriter *writer = &writerOnStack;\n",
  },
  {
    what: "typed-array methods",
    from: "protected:\n  std::unique_ptr<faiss::Index> index_;\n",
    to: `${TYPED_METHODS}protected:\n  std::unique_ptr<faiss::Index> index_;\n`,
  },
];

const REGISTERED = ["addFloat32", "trainFloat32", "searchFloat32", "setSearchParameter", "reconstructFloat32"];

/**
 * faiss-node 0.5.1 leaks in search/fromBuffer/toBuffer, only takes number[] (one N-API call per
 * float), and cannot set search-time parameters (HNSW efSearch, IVF nprobe). The unpacked source is
 * patched before compiling; the pristine source is kept beside it so a newer recipe starts over.
 */
function patchSource() {
  const file = join(pkgDir, "src", "faiss.cc");
  const pristine = `${file}.orig`;
  if (!existsSync(pristine)) copyFileSync(file, pristine);
  let source = readFileSync(pristine, "utf8");
  // A source patched by an older recipe (before the pristine copy was kept) only had the leak fix.
  source = source.replace("    delete[] D;\n    delete[] xq;\n", "    delete[] D;\n");
  for (const patch of PATCHES) {
    if (!source.includes(patch.from)) fail(`faiss-node's source is not what this build expects (${patch.what}).`);
    source = source.replace(patch.from, patch.to);
  }
  const classes = [...source.matchAll(/InstanceMethod\("toBuffer", &(\w+)::toBuffer\),\n/g)];
  if (classes.length !== 3) fail("faiss-node's source is not what this build expects (index classes).");
  source = source.replace(
    /InstanceMethod\("toBuffer", &(\w+)::toBuffer\),\n/g,
    (line, name) =>
      line + REGISTERED.map((method) => `      InstanceMethod("${method}", &${name}::${method}),\n`).join(""),
  );
  writeFileSync(file, source);
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
