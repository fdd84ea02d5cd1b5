// zod mini with English as its only locale; see ../../index.ts.
import * as z from "../../mini-external.ts";

export * from "../../mini-external.ts";
export { z };
