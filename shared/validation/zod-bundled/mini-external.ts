// zod mini's API with English as its only locale; see index.ts.
export * from "../../../node_modules/zod/v4/mini/external.js";
export * as locales from "./english.ts";
export * as core from "./v4/core/index.ts";
