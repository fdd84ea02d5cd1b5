// The part of zod the engine's own modules use, re-exported by name so that a bundle keeps only
// these functions (see zod.ts). Add a name here when a module needs one.
//
// From "zod/v4", the entry LangChain and the OpenAI SDK import: where a function loads them with
// `import()` (flashcards; the ingestion worker did), esbuild initialises zod lazily through that
// module, and a named import of zod's root entry (declared free of side effects) would then reach
// zod's classes before their initialisation ran ("ZodString is not a constructor" when config.ts
// builds its schema).

export type { infer, input, output, ZodError, ZodType } from "zod/v4";
export {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  email,
  enum,
  gte,
  iso,
  lazy,
  literal,
  lte,
  number,
  object,
  preprocess,
  record,
  string,
  union,
  url,
} from "zod/v4";
