// Entry of the chat model thread (see threaded.ts). The engine runs from TypeScript sources, and a
// worker thread does not inherit the TypeScript loader of the thread that starts it, so it is
// registered here before the thread's module is loaded.
import { register } from "tsx/esm/api";

register();
await import("./model-thread-loop.ts");
