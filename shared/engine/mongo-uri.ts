import type { Config } from "../config/config.ts";
import { resolveSecret } from "../config/secrets.ts";
import type { DocumentStore } from "../store/store.ts";

/** Opens the MongoDB store when a URI is configured (directly or by secret); undefined otherwise. */
export async function openMongoStore(
  config: Config,
  create: (options: { uri: string; dbName: string }) => DocumentStore | Promise<DocumentStore>,
): Promise<DocumentStore | undefined> {
  const uri = await resolveSecret("MONGO_URI", config.MONGO_URI, config.MONGO_URI_SECRET_ARN);
  return uri ? create({ uri, dbName: config.MONGO_DB }) : undefined;
}
