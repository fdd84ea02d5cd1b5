import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "#shared/config/config.ts";

const DEFAULT_ORIGINS = [
  "http://localhost:3000",
  "http://localhost:5000",
  "http://127.0.0.1:3000",
  "http://127.0.0.1:5000",
];

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected loadConfig to throw a ConfigError");
}

describe("loadConfig defaults", () => {
  it("starts a local engine on port 8000 with the original engine's defaults", () => {
    // Prepare
    const env = {};

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.RUNTIME).toBe("local");
    expect(config.PORT).toBe(8000);
    expect(config.DATA_DIR).toBe(".data");
    expect(config.MONGO_DB).toBe("collabry");
    expect(config.LOG_LEVEL).toBe("INFO");
    expect(config.CORS_ORIGINS).toEqual(DEFAULT_ORIGINS);
    expect(config.MAX_SESSIONS_PER_USER).toBe(50);
    expect(config.JWT_SECRET_KEY).toBeUndefined();
  });

  it("treats empty (and blank) variables as unset, so their defaults apply", () => {
    // Prepare
    const env = {
      PORT: "",
      DATA_DIR: "",
      MONGO_DB: " ",
      LOG_LEVEL: "",
      RUNTIME: "",
      JWT_SECRET_KEY: "",
      JWT_CLOCK_TOLERANCE_SECONDS: "",
      LLM_BASE_URL: "",
      LLM_TIMEOUT_MS: "",
      PRINT_DEV_TOKEN: "",
      CORS_ORIGINS: "",
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.PORT).toBe(8000);
    expect(config.DATA_DIR).toBe(".data");
    expect(config.MONGO_DB).toBe("collabry");
    expect(config.LOG_LEVEL).toBe("INFO");
    expect(config.RUNTIME).toBe("local");
    expect(config.JWT_SECRET_KEY).toBeUndefined();
    expect(config.JWT_CLOCK_TOLERANCE_SECONDS).toBe(30);
    expect(config.LLM_BASE_URL).toBeUndefined();
    expect(config.LLM_TIMEOUT_MS).toBe(120_000);
    expect(config.PRINT_DEV_TOKEN).toBe(true);
    expect(config.CORS_ORIGINS).toEqual(DEFAULT_ORIGINS);
  });

  it("coerces numeric variables and accepts a lower-case log level", () => {
    // Prepare
    const env = { PORT: "9001", MAX_SESSIONS_PER_USER: "7", LLM_MAX_RETRIES: "0", LOG_LEVEL: "debug" };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.PORT).toBe(9001);
    expect(config.MAX_SESSIONS_PER_USER).toBe(7);
    expect(config.LLM_MAX_RETRIES).toBe(0);
    expect(config.LOG_LEVEL).toBe("DEBUG");
  });
});

describe("loadConfig CORS_ORIGINS", () => {
  it("splits on commas, trims each origin and drops trailing slashes and empty entries", () => {
    // Prepare
    const env = { CORS_ORIGINS: " https://app.collabry.io/ ,http://localhost:3000,, https://x.example//" };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.CORS_ORIGINS).toEqual(["https://app.collabry.io", "http://localhost:3000", "https://x.example"]);
  });

  it("falls back to the default origins when the list has no origin in it", () => {
    // Prepare
    const env = { CORS_ORIGINS: " , ,  " };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.CORS_ORIGINS).toEqual(DEFAULT_ORIGINS);
  });
});

describe("loadConfig validation", () => {
  it("names every bad variable at once instead of failing on the first", () => {
    // Prepare
    const env = { PORT: "abc", LOG_LEVEL: "loud", LLM_BASE_URL: "ftp://x" };

    // Act
    const problems = problemsOf(env);

    // Assess
    const named = (variable: string) => problems.some((problem) => problem.startsWith(`${variable}:`));
    expect(named("PORT")).toBe(true);
    expect(named("LOG_LEVEL")).toBe(true);
    expect(named("LLM_BASE_URL")).toBe(true);
  });

  it("puts every problem in the error message shown at start-up", () => {
    // Prepare
    const env = { PORT: "70000", MAX_SESSIONS_PER_USER: "0" };

    // Act
    const act = () => loadConfig(env);

    // Assess
    expect(act).toThrow(ConfigError);
    expect(act).toThrow(/PORT/);
    expect(act).toThrow(/MAX_SESSIONS_PER_USER/);
  });

  it("names the bound each out-of-range integer breaks, per variable", () => {
    // Prepare: the integer variables share one base schema and differ only in their bounds.
    const env = { PORT: "70000", MAX_SESSIONS_PER_USER: "0", LLM_MAX_RETRIES: "6", JWT_CLOCK_TOLERANCE_SECONDS: "-1" };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems.sort()).toEqual([
      "JWT_CLOCK_TOLERANCE_SECONDS: Too small: expected number to be >=0",
      "LLM_MAX_RETRIES: Too big: expected number to be <=5",
      "MAX_SESSIONS_PER_USER: Too small: expected number to be >=1",
      "PORT: Too big: expected number to be <=65535",
    ]);
  });

  it("refuses non-integer numbers", () => {
    // Prepare
    const env = { PORT: "80.5" };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^PORT:/);
  });

  it("refuses an LLM_BASE_URL without an LLM_MODEL", () => {
    // Prepare
    const env = { LLM_BASE_URL: "https://llm.example/v1" };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toEqual(["LLM_MODEL: required when LLM_BASE_URL is set"]);
  });

  it("accepts an http(s) LLM_BASE_URL with its model", () => {
    // Prepare
    const env = { LLM_BASE_URL: "http://127.0.0.1:11434/v1", LLM_MODEL: "llama3.1" };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.LLM_BASE_URL).toBe("http://127.0.0.1:11434/v1");
    expect(config.LLM_MODEL).toBe("llama3.1");
  });

  it("refuses a JWT_SECRET_KEY shorter than 16 characters and accepts one of 16", () => {
    // Prepare
    const short = { JWT_SECRET_KEY: "fifteen-chars!!" };
    const enough = { JWT_SECRET_KEY: "sixteen-chars!!!" };

    // Act
    const problems = problemsOf(short);
    const config = loadConfig(enough);

    // Assess
    expect(problems).toEqual(["JWT_SECRET_KEY: must be at least 16 characters"]);
    expect(config.JWT_SECRET_KEY).toBe("sixteen-chars!!!");
  });
});

describe("loadConfig in AWS", () => {
  it("detects Lambda and requires the JWT secret and the Mongo URI", () => {
    // Prepare
    const env = { AWS_LAMBDA_FUNCTION_NAME: "collabry-chat" };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toHaveLength(2);
    expect(problems.some((problem) => problem.startsWith("JWT_SECRET_ARN:"))).toBe(true);
    expect(problems.some((problem) => problem.startsWith("MONGO_URI_SECRET_ARN:"))).toBe(true);
  });

  it("does not count empty secret variables as configured", () => {
    // Prepare
    const env = { AWS_LAMBDA_FUNCTION_NAME: "collabry-chat", JWT_SECRET_ARN: "", MONGO_URI: "  " };

    // Act
    const problems = problemsOf(env);

    // Assess
    expect(problems).toHaveLength(2);
  });

  it("starts in AWS with the secrets given by ARN", () => {
    // Prepare
    const env = {
      AWS_LAMBDA_FUNCTION_NAME: "collabry-chat",
      JWT_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:jwt",
      MONGO_URI_SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mongo",
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.RUNTIME).toBe("aws");
    expect(config.JWT_SECRET_ARN).toBe(env.JWT_SECRET_ARN);
  });

  it("starts in AWS with the secrets given directly", () => {
    // Prepare
    const env = {
      AWS_LAMBDA_FUNCTION_NAME: "collabry-chat",
      JWT_SECRET_KEY: "a-long-enough-shared-secret",
      MONGO_URI: "mongodb://127.0.0.1:27017",
    };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.RUNTIME).toBe("aws");
    expect(config.MONGO_URI).toBe("mongodb://127.0.0.1:27017");
  });

  it("keeps an explicit RUNTIME=local even inside Lambda", () => {
    // Prepare
    const env = { AWS_LAMBDA_FUNCTION_NAME: "collabry-chat", RUNTIME: "local" };

    // Act
    const config = loadConfig(env);

    // Assess
    expect(config.RUNTIME).toBe("local");
  });
});
