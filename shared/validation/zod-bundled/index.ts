// zod as the Lambda bundles see it: BUNDLE_ALIASES (infra/lib/constructs/collabry-function.ts) sends
// `zod` and every `zod/<subpath>` here, to one module per entry point of zod's package.json, each
// exporting the same names as zod's own. What differs is `locales` (and `core.locales`): English
// only. @hono/zod-openapi re-exports zod's `z` and LangChain imports `z` from "zod/v4", so esbuild
// keeps every export of that namespace, and zod's `export * as locales` brought 40+ languages of
// error messages (~260 KiB) that the engine never selects: zod registers English itself on the
// first schema, and nothing calls `z.config(z.locales.…())`. The explicit `locales` and `core`
// exports in classic.ts shadow the ones `export *` would bring (ES modules let an explicit export
// win over a star export), so nothing reaches zod's locales index.
//
// The real modules are reached by relative path into node_modules, since `zod/...` written here
// would be aliased back to this directory. `npx tsx` and the local runtime use zod itself; only
// esbuild with the alias sees these files. test/infra/zod-alias.test.ts checks every entry point
// against zod's (names and values), so a zod upgrade that changes its exports fails there.
import * as z from "./classic.ts";

export * from "./classic.ts";
export { z, z as default };
