// Parsers are imported when a document first needs them (they are not in the Lambda bundles, and
// their load time is not every request's). The module is kept once loaded: a repeated `import()`
// still resolves the specifier again, ~0.3 ms per call under the local runtime's TypeScript loader.
// The composition builds its model clients on first use the same way (engine/model-on-first-use.ts).

/** `load` run on the first call and its module kept; a failed import is tried again on the next call. */
export function onDemand<T>(load: () => Promise<T>): () => Promise<T> {
  let loaded: Promise<T> | undefined;
  return () => {
    loaded ??= load().catch((error: unknown) => {
      loaded = undefined;
      throw error;
    });
    return loaded;
  };
}
