// zod 3's API, which has no locales: zod's own module, reached past the alias (see ../index.ts).
export * from "../../../../node_modules/zod/v3/index.js";
export { default } from "../../../../node_modules/zod/v3/index.js";
