/**
 * One model call's measurement: started when the request reached the proxy, reported exactly once
 * (body end, failure or cancel) as a ModelUsageRecord through the agent's `onUsage`. A throwing
 * callback is logged (by code) and never reaches the response.
 */
import { codeOf } from '@gastown/protocol';
import type { Clock, ModelUsageRecord, ProviderKind } from '@gastown/protocol';
import type { Logger } from '../log/logger';
import { ZERO_USAGE } from '../model-usage';
import type { TokenUsage } from '../model-usage';
import type { RegisteredAgent } from './agent-keys';

export interface ModelCallMeterOptions {
  agent: RegisteredAgent;
  model: string;
  providerKind: ProviderKind;
  streamed: boolean;
  clock: Clock;
  startedAt: number;
  logger: Logger;
}

export class ModelCallMeter {
  #reported = false;

  constructor(private readonly options: ModelCallMeterOptions) {}

  /** Report the call once; later calls do nothing. Tokens count only for a 2xx answer. */
  report(status: number, usage: TokenUsage, errorCode: string | null): void {
    if (this.#reported) return;
    this.#reported = true;
    const { agent, clock, startedAt, logger } = this.options;
    const counted = status >= 200 && status < 300 ? usage : ZERO_USAGE;
    const record: ModelUsageRecord = {
      model: this.options.model,
      providerKind: this.options.providerKind,
      inputTokens: counted.inputTokens,
      outputTokens: counted.outputTokens,
      cacheReadTokens: counted.cacheReadTokens,
      cacheWriteTokens: counted.cacheWriteTokens,
      latencyMs: Math.max(0, Math.round(clock.now() - startedAt)),
      streamed: this.options.streamed,
      status,
      errorCode,
    };
    logger.debug('llm_proxy.call', { agentId: agent.agentId, model: record.model, status, errorCode, latencyMs: record.latencyMs });
    try {
      agent.onUsage?.(record);
    } catch (err) {
      logger.warn('llm_proxy.usage_callback_failed', { agentId: agent.agentId, code: codeOf(err) });
    }
  }
}
