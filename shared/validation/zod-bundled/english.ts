// The `locales` namespace of the bundled zod: English, the one the engine's messages are in (and
// the one zod registers by default).
export { default as en } from "../../../node_modules/zod/v4/locales/en.js";
