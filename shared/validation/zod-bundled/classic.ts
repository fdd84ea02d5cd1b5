// zod's classic API (the `z` of "zod" and "zod/v4") with English as its only locale; see index.ts.
export * from "../../../node_modules/zod/v4/classic/external.js";
export * as locales from "./english.ts";
export * as core from "./v4/core/index.ts";
