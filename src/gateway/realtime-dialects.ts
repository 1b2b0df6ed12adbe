/**
 * What the Realtime relay reads of each provider's events: OpenAI's Realtime API and Gemini's Live
 * API. Each session has a dialect of its own (it keeps a little state). Only the few events that
 * matter are parsed; audio chunks, most of the traffic, are recognised by a byte search and passed on.
 */
import { isObject } from './providers/types.js';
import { geminiLiveUsage, realtimeUsage, transcriptionModel, transcriptionUsage, type RealtimeUsage } from './realtime-usage.js';

/** What a session is billed for: tokens by kind (at the session's model unless named), or an input transcription at its own model. */
export type SessionCharge = { kinds: RealtimeUsage; model?: string } | { tokensIn: number; tokensOut: number; seconds: boolean; model: string | undefined };

/** What a provider's event means to the relay. */
export interface UpstreamMeaning {
  charge?: SessionCharge;
  /** A response began (its id). */
  started?: string;
  /** A response reported its usage (its id): nothing more is billed for it. */
  done?: string;
}

export interface RelayDialect {
  /** The provider's name, for the ledger. */
  readonly provider: 'openai' | 'gemini';
  /** A client event the session may not carry: why, and the event's id when it has one. `refuse` judges the event parsed. */
  inspectClient(buf: Buffer, refuse: (event: Record<string, unknown>) => string | undefined): { why: string; eventId: string | null } | undefined;
  inspectUpstream(buf: Buffer): UpstreamMeaning | undefined;
  /** Events asking the provider to stop these responses (none where it has no such event: they run to their end). */
  cancel(ids: string[]): string[];
  /** An event of the gateway's own telling the client why, when the provider's API has one; else only the close reason says it. */
  errorEvent(type: string, code: string, message: string, eventId: string | null): string | undefined;
}

export function parseEvent(buf: Buffer): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(buf.toString('utf8'));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** OpenAI Realtime: `response.created` / `response.done` (its usage), input transcriptions, the session's transcription model. */
export function openaiDialect(): RelayDialect {
  let transcribeWith: string | undefined;
  return {
    provider: 'openai',
    inspectClient(buf, refuse) {
      if (!buf.includes('session.update')) return undefined;
      const event = parseEvent(buf);
      const why = event ? refuse(event) : undefined;
      return why === undefined ? undefined : { why, eventId: typeof event?.event_id === 'string' ? event.event_id : null };
    },
    inspectUpstream(buf) {
      if (buf.includes('response.done')) {
        const event = parseEvent(buf);
        const response = event?.type === 'response.done' && isObject(event.response) ? event.response : undefined;
        if (!response) return undefined;
        const usage = realtimeUsage(response.usage);
        return { done: String(response.id), charge: usage ? { kinds: usage } : undefined };
      }
      if (buf.includes('response.created')) {
        const event = parseEvent(buf);
        return event?.type === 'response.created' && isObject(event.response) ? { started: String(event.response.id) } : undefined;
      }
      if (buf.includes('input_audio_transcription.completed')) {
        const event = parseEvent(buf);
        const usage = event?.type === 'conversation.item.input_audio_transcription.completed' ? transcriptionUsage(event.usage) : undefined;
        return usage ? { charge: { ...usage, model: transcribeWith } } : undefined;
      }
      if (buf.includes('"session.')) {
        const event = parseEvent(buf);
        if ((event?.type === 'session.created' || event?.type === 'session.updated') && isObject(event.session)) transcribeWith = transcriptionModel(event.session) ?? transcribeWith;
      }
      return undefined;
    },
    cancel: (ids) => ids.map((id) => JSON.stringify({ type: 'response.cancel', response_id: id })),
    errorEvent: (type, code, message, eventId) => JSON.stringify({ event_id: `event_kw_${Date.now().toString(36)}`, type: 'error', error: { type, code, message, event_id: eventId } }),
  };
}

/**
 * Gemini Live: a turn's `serverContent` starts it, and the `usageMetadata` Google sends for it bills
 * it (each carries that turn's tokens, the conversation so far included, as Google bills them). There
 * is no error event: the close frame's reason says why.
 */
export function geminiDialect(): RelayDialect {
  let turn = 0;
  let inTurn = false;
  return {
    provider: 'gemini',
    inspectClient: () => undefined,
    inspectUpstream(buf) {
      const usage = buf.includes('"usageMetadata"');
      if (!usage && (inTurn || !buf.includes('"serverContent"'))) return undefined;
      const event = parseEvent(buf);
      if (!event) return undefined;
      const m: UpstreamMeaning = {};
      if (!inTurn && isObject(event.serverContent)) {
        inTurn = true;
        m.started = String(++turn);
      }
      const kinds = usage ? geminiLiveUsage(event.usageMetadata) : undefined;
      if (kinds) {
        m.charge = { kinds };
        m.done = String(turn);
        inTurn = false;
      }
      return m;
    },
    cancel: () => [],
    errorEvent: () => undefined,
  };
}
