// zod/compile is imported for its side effect (installing the schema compiler): zod's own module,
// reached past the alias (see ../index.ts).
import "../../../../node_modules/zod/compile.js";
