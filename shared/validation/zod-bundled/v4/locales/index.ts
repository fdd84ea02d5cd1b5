// Every locale, for a module that asks for them by name: zod's own module, reached past the alias
// (see ../../index.ts).
export * from "../../../../../node_modules/zod/v4/locales/index.js";
