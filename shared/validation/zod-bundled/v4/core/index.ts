// zod/v4/core (LangChain, the OpenAI SDK) with English as its only locale; see ../../index.ts.
export * from "../../../../../node_modules/zod/v4/core/index.js";
export * as locales from "../../english.ts";
