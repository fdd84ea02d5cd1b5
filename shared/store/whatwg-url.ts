// whatwg-url as the Lambda bundles see it (BUNDLE_ALIASES in infra/lib/constructs/collabry-function.ts):
// MongoDB's connection-string parser (mongodb-connection-string-url) subclasses whatwg-url's URL,
// and that package brings tr46's Unicode tables, 276 KiB of every function that reaches MongoDB.
// Node's own URL implements the same WHATWG standard. The parser imports nothing else from it: its
// URLSearchParams is the one behind `url.searchParams`.
export { URL } from "node:url";
