// The part of zod the engine's own modules use, re-exported by name so that a bundle keeps only
// these functions (see zod.ts). Add a name here when a module needs one.

export type { infer, input, output, ZodError, ZodType } from "zod";
export {
  array,
  boolean,
  coerce,
  discriminatedUnion,
  email,
  enum,
  iso,
  lazy,
  literal,
  number,
  object,
  preprocess,
  record,
  string,
  union,
  url,
} from "zod";
