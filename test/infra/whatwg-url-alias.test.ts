// The Lambda bundles replace whatwg-url with Node's own URL (BUNDLE_ALIASES, shared/store/whatwg-url.ts).
// MongoDB URIs are parsed by the bundled driver in a plain `node` process and compared with the
// same parse through the real whatwg-url: every field and option the engine relies on, and every
// refusal, must be the same.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cdkEsbuildOptions } from "../../bench/cold-start/bundle-options.ts";
import { summarizeUris, type UriSummary } from "./mongo-uri-summary.ts";
import { repoRoot } from "./support.ts";

const URIS = [
  "mongodb://localhost:27017/collabry",
  "mongodb+srv://collabry:s3cr%40t%2Fpw@cluster0.abcde.mongodb.net/collabry?retryWrites=true&w=majority&appName=Collabry",
  "mongodb://app:pw@db1.internal:27017,db2.internal:27018,db3.internal/collabry?replicaSet=rs0&readPreference=secondaryPreferred&authSource=admin",
  "mongodb://[::1]:27017/?directConnection=true",
  "mongodb://%2Ftmp%2Fmongodb-27017.sock/collabry",
  "mongodb://localhost/collabry?ReadPreference=primaryPreferred&TLS=true&tlsAllowInvalidHostnames=true",
  "mongodb://localhost/cours%C3%A9?appName=Caf%C3%A9%20%26%20th%C3%A9",
  "mongodb://user@localhost/?authMechanism=MONGODB-X509&tls=true",
  "mongodb://localhost/db#fragment",
  "mongodb://étudiant:mot de passe@localhost/cours é?appName=Café&tlsCAFile=/etc/ssl/ca bundle.pem",
  // Refused, with the same message either way.
  "http://localhost:27017/collabry",
  "mongodb://us:er:pw@localhost/collabry",
  "mongodb+srv://cluster0.example.net,cluster1.example.net/collabry",
  "mongodb+srv://cluster0.example.net:27017/collabry",
  "mongodb://localhost:99999/collabry",
  "mongodb://localhost/collabry?readPreference=sometimes",
  "mongodb://",
];

let work: string;
let metafile: Metafile;
let bundled: UriSummary[];

beforeAll(async () => {
  // Prepare
  work = await mkdtemp(join(tmpdir(), "collabry-whatwg-url-"));
  const outfile = join(work, "index.mjs");
  const result = await build(cdkEsbuildOptions(repoRoot, "test/infra/mongo-uri-summary.ts", outfile));
  metafile = result.metafile as Metafile;
  await writeFile(
    join(work, "run.mjs"),
    'const { summarizeUris } = await import("./index.mjs");\n' +
      "process.stdout.write(JSON.stringify(summarizeUris(JSON.parse(process.argv[2]))));\n",
  );

  // Act
  const { stdout } = await promisify(execFile)(process.execPath, ["run.mjs", JSON.stringify(URIS)], {
    cwd: work,
    env: { PATH: process.env.PATH ?? "" },
    timeout: 30_000,
  });
  bundled = JSON.parse(stdout);
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("MongoDB URIs in the Lambda bundles (whatwg-url → Node's URL)", () => {
  it("are parsed by Node's URL: neither whatwg-url nor tr46 is bundled", () => {
    // Act
    const inputs = Object.keys(metafile.inputs);

    // Assess
    expect(inputs).toContain("shared/store/whatwg-url.ts");
    expect(inputs.filter((input) => /node_modules\/(whatwg-url|tr46)\//.test(input))).toEqual([]);
  });

  it("give the same connection string, client options and refusals as through whatwg-url", () => {
    // Act
    const direct = summarizeUris(URIS);

    // Assess
    expect(bundled).toEqual(direct);
    const refused = bundled.filter((summary) =>
      [summary.connectionString, summary.client].some((part) => typeof part === "object" && part && "error" in part),
    );
    expect(refused.map((summary) => summary.uri)).toEqual(URIS.slice(-7));
  });
});
