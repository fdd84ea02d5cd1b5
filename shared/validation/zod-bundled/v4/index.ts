// zod/v4 (the entry the engine, LangChain and the OpenAI SDK import): the same API as zod's root.
import * as z from "../classic.ts";

export * from "../classic.ts";
export { z, z as default };
