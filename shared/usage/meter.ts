// Per-request token meter. The usage middleware opens one meter per AI request and the route calls
// the model through `meteredModel(model, meter)` (via `requestModel`, ./middleware.ts), which adds
// every call's usage to it, so a request that calls the model several times (retries of structured
// output, multi-step study tools) is charged the sum.
//
// The meter is passed explicitly rather than found through an AsyncLocalStorage: on Node 20 an
// AsyncLocalStorage turns on async hooks for every promise of the process, which cost 11–15 % of the
// local runtime's main-thread CPU at 100 concurrent chat streams (README, Performance).
import type { ChatChunk, ChatModel, ChatRequest, ChatResult, TokenUsage } from "../llm/chat-model.ts";
import { estimateTokens } from "../llm/prompts.ts";

/** Where a usage figure came from: the model's name and whether the count is an estimate. */
export interface UsageSource {
  model: string;
  estimated: boolean;
}

/** What a meter has counted. */
export interface MeteredUsage {
  inputTokens: number;
  outputTokens: number;
  /** True when any part of the count is an estimate (offline engine, endpoint without usage). */
  estimated: boolean;
  /** Model names seen, in call order, without repeats. */
  models: string[];
  calls: number;
  failedCalls: number;
}

/** Counts the tokens of one request's model calls. */
export class UsageMeter {
  private inputTokens = 0;
  private outputTokens = 0;
  private estimated = false;
  private readonly models: string[] = [];
  private calls = 0;
  private failedCalls = 0;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private lateUsage: ((usage: TokenUsage, source: UsageSource) => void) | undefined;
  private sealed = false;

  /** Adds one call's usage; after `seal`, it goes to the late-usage listener instead. */
  add(usage: TokenUsage, source: UsageSource): void {
    if (this.sealed) {
      this.lateUsage?.(usage, source);
      return;
    }
    this.inputTokens += Math.max(0, usage.inputTokens);
    this.outputTokens += Math.max(0, usage.outputTokens);
    if (source.estimated) this.estimated = true;
    if (!this.models.includes(source.model)) this.models.push(source.model);
  }

  /** Marks a model call as started (the meter is idle when no call is running). */
  callStarted(): void {
    this.calls += 1;
    this.inFlight += 1;
  }

  /** Marks a model call as finished; `failed` when it threw. */
  callEnded(failed: boolean): void {
    if (failed) this.failedCalls += 1;
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (this.inFlight === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** Resolves once no model call is running (at once when none is). */
  whenIdle(): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** The counts so far. */
  snapshot(): MeteredUsage {
    return {
      inputTokens: this.inputTokens,
      outputTokens: this.outputTokens,
      estimated: this.estimated,
      models: [...this.models],
      calls: this.calls,
      failedCalls: this.failedCalls,
    };
  }

  /**
   * Freezes the counts for recording. Usage that still arrives (a reply generated to the end after
   * the client went away) is handed to `onLateUsage`, so it is charged rather than lost.
   */
  seal(onLateUsage?: (usage: TokenUsage, source: UsageSource) => void): MeteredUsage {
    this.sealed = true;
    this.lateUsage = onLateUsage;
    return this.snapshot();
  }
}

function estimateUsage(request: ChatRequest, output: string): TokenUsage {
  return {
    inputTokens: request.messages.reduce((sum, turn) => sum + estimateTokens(turn.content), 0),
    outputTokens: estimateTokens(output),
  };
}

/**
 * `model` with every call's token usage added to `meter` (`model` itself when there is no meter: a
 * request that is not an AI operation). The offline engine's counts are estimates; a call whose
 * endpoint reports no usage (or that was cut short) is charged an estimate from the prompt and the
 * text produced, so quotas cannot be evaded.
 */
export function meteredModel(model: ChatModel, requestMeter: UsageMeter | undefined): ChatModel {
  if (!requestMeter) return model;
  const meter = requestMeter;
  const source = (estimated: boolean): UsageSource => ({
    model: model.info.model,
    estimated: estimated || model.info.kind === "offline",
  });

  async function* metered(request: ChatRequest): AsyncIterable<ChatChunk> {
    let usage: TokenUsage | undefined;
    let text = "";
    let failed = false;
    meter.callStarted();
    try {
      for await (const chunk of model.stream(request)) {
        if (chunk.usage) usage = chunk.usage;
        text += chunk.text;
        yield chunk;
      }
    } catch (error) {
      failed = true;
      throw error;
    } finally {
      // A call that failed before producing anything is not charged: an endpoint outage must not
      // eat the student's quota.
      if (usage) meter.add(usage, source(false));
      else if (text !== "" || !failed) meter.add(estimateUsage(request, text), source(true));
      meter.callEnded(failed);
    }
  }

  return {
    get info() {
      return model.info;
    },
    stream: metered,
    async complete(request: ChatRequest): Promise<ChatResult> {
      meter.callStarted();
      let failed = false;
      try {
        const result = await model.complete(request);
        meter.add(result.usage ?? estimateUsage(request, result.text), source(result.usage === undefined));
        return result;
      } catch (error) {
        // Not charged, as for a stream that failed before its first token.
        failed = true;
        throw error;
      } finally {
        meter.callEnded(failed);
      }
    },
    health: () => model.health(),
  };
}
