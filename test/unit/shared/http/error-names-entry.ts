// Entry of the minified bundle built by error-names.test.ts: prints the `name` of one instance of
// every error class the engine exports, keyed by the class's exported (unminified) name.
import * as jwt from "#shared/auth/jwt.ts";
import * as blobs from "#shared/blobs/blobs.ts";
import * as config from "#shared/config/config.ts";
import * as copilot from "#shared/copilot/copilot.ts";
import * as embeddings from "#shared/embeddings/embeddings.ts";
import * as extraction from "#shared/extraction/errors.ts";
import * as zip from "#shared/extraction/zip.ts";
import * as http from "#shared/http/errors.ts";
import * as llm from "#shared/llm/errors.ts";
import * as structured from "#shared/llm/structured.ts";
import * as library from "#shared/rag/library.ts";
import * as store from "#shared/store/store.ts";
import * as shard from "#shared/vector-index/shard.ts";
import * as page from "#shared/web/fetch-page.ts";

const names: Record<string, string> = {};
for (const module of [
  jwt,
  blobs,
  config,
  copilot,
  embeddings,
  extraction,
  zip,
  http,
  llm,
  structured,
  library,
  store,
  shard,
  page,
]) {
  for (const [exported, value] of Object.entries(module)) {
    if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
    // Constructors differ; the first argument list one accepts is enough to read the name.
    for (const args of [["a problem", 30], [[]], []]) {
      try {
        names[exported] = (Reflect.construct(value, args) as Error).name;
        break;
      } catch {
        // Try the next argument list.
      }
    }
  }
}
process.stdout.write(JSON.stringify(names));
