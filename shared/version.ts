/** Version reported by `/` and `/health`; kept in step with package.json by a test. */
export const ENGINE_VERSION = "0.1.0";
