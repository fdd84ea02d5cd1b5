// What the engine relies on from a parsed MongoDB URI, as plain JSON: the connection string as the
// driver's parser reads it, and the options MongoClient derives from it. Imported as is (with
// whatwg-url) and bundled with the Lambda's esbuild settings (Node's URL), then compared.
import { MongoClient } from "mongodb";
import { ConnectionString } from "mongodb-connection-string-url";

export type UriSummary = Record<string, unknown>;

function failure(error: unknown): UriSummary {
  return { error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
}

function connectionString(uri: string): UriSummary {
  try {
    const parsed = new ConnectionString(uri);
    return {
      text: parsed.toString(),
      href: parsed.href,
      protocol: parsed.protocol,
      isSRV: parsed.isSRV,
      hosts: parsed.hosts,
      username: parsed.username,
      password: parsed.password,
      pathname: parsed.pathname,
      search: parsed.search,
      params: [...parsed.searchParams.entries()],
      readPreference: parsed.searchParams.get("READPREFERENCE"),
      redacted: parsed.redact().toString(),
      clone: parsed.clone().toString(),
    };
  } catch (error) {
    return failure(error);
  }
}

function clientOptions(uri: string): UriSummary {
  try {
    const { options } = new MongoClient(uri, { serverSelectionTimeoutMS: 1 });
    return {
      hosts: options.hosts.map((host) => host.toString()),
      dbName: options.dbName,
      srvHost: options.srvHost ?? null,
      replicaSet: options.replicaSet ?? null,
      readPreference: options.readPreference.mode,
      tls: options.tls,
      directConnection: options.directConnection,
      appName: options.appName ?? null,
      retryWrites: options.retryWrites,
      writeConcern: options.writeConcern?.w ?? null,
      credentials: options.credentials
        ? {
            username: options.credentials.username,
            password: options.credentials.password,
            source: options.credentials.source,
            mechanism: options.credentials.mechanism,
          }
        : null,
    };
  } catch (error) {
    return failure(error);
  }
}

/** The connection string and the client options of each URI. */
export function summarizeUris(uris: readonly string[]): UriSummary[] {
  return uris.map((uri) => ({ uri, connectionString: connectionString(uri), client: clientOptions(uri) }));
}
