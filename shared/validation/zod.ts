// The engine's `z`: a namespace over the zod functions it uses (zod-api.ts) instead of zod's own
// `z`. zod's index binds its `z` with `import * as` and re-exports that object, which esbuild keeps
// whole: `import { z } from "zod"` bundled every schema type and all of zod 4's locales (~350 KiB
// more) into each function that validates anything. Route schemas still use the `z` of @hono/zod-openapi, which extends zod's.
export * as z from "./zod-api.ts";
