// Something built or imported when first needed, and kept: the document parsers (not in the Lambda
// bundles, and their load time is not every request's; a repeated `import()` still resolves the
// specifier again, ~0.3 ms per call under the local runtime's TypeScript loader), model clients a
// function rarely calls, a Lambda's composition, the OpenAPI document.

/** `load` run on the first call and its value kept; a failed load is tried again on the next call. */
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
