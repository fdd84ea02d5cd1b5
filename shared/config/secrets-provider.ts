// A Powertools parameters provider for Secrets Manager. With the credentials Lambda puts in the
// environment it calls GetSecretValue through a small signed HTTP client (secrets-manager-http.ts);
// otherwise through the AWS SDK's client, imported on its first fetch: Powertools' own
// SecretsProvider imports @aws-sdk/client-secrets-manager statically, and a bundler hoists that
// external import to the top of the bundle, so every function evaluated the client (~150 ms) at
// start even when its secrets are given by value. The caching, max age and error wrapping stay
// Powertools' (BaseProvider).

import { BaseProvider } from "@aws-lambda-powertools/parameters/base";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SecretsManagerHttp, secretsManagerHttpOptionsFrom } from "./secrets-manager-http.ts";

type SecretsManagerSdk = typeof import("@aws-sdk/client-secrets-manager");

export class LazySecretsProvider extends BaseProvider {
  private connection: Promise<{ sdk: SecretsManagerSdk; client: SecretsManagerClient }> | undefined;
  private readonly http: SecretsManagerHttp | undefined;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    super({});
    const options = secretsManagerHttpOptionsFrom(env);
    this.http = options ? new SecretsManagerHttp(options) : undefined;
  }

  /** Which client fetches: the signed HTTP one, or the SDK's. */
  get transport(): "http" | "sdk" {
    return this.http ? "http" : "sdk";
  }

  private connect(): Promise<{ sdk: SecretsManagerSdk; client: SecretsManagerClient }> {
    this.connection ??= import("@aws-sdk/client-secrets-manager").then(
      (sdk) => ({ sdk, client: new sdk.SecretsManagerClient({}) }),
      (error: unknown) => {
        this.connection = undefined;
        throw error;
      },
    );
    return this.connection;
  }

  protected async _get(name: string): Promise<string | Uint8Array | undefined> {
    if (this.http) return this.http.getSecretValue(name);
    const { sdk, client } = await this.connect();
    const result = await client.send(new sdk.GetSecretValueCommand({ SecretId: name }));
    return result.SecretString ?? result.SecretBinary;
  }

  protected _getMultiple(): Promise<Record<string, unknown> | undefined> {
    throw new Error("Secrets Manager has no multiple-value fetch");
  }
}
