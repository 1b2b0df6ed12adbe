/**
 * The WebRTC calls a gateway watches, and, on a store that every instance shares (Redis), who opened
 * each and with which provider key. Behind a load balancer a client's hang-up can reach another
 * instance than the one that opened (and watches) its call: that instance hangs the call up at the
 * provider with the key that opened it (OpenAI takes a call's hang-up only from the call's own
 * project), and the watching instance sees the sideband close and settles the call as usual.
 *
 * What is shared is the call's owner (a user id), its provider and the key's label (the provider,
 * the key's last four characters and a fingerprint, as the logs show it), never the key.
 */
import type { SharedValues } from '../store/types.js';

/** OpenAI ends a Realtime session after 60 minutes; a record outlives its call (an instance that died never removes it). */
const CALL_TTL_MS = 2 * 60 * 60_000;

/** A call opened on some instance, as every instance can read it. */
export interface CallRecord {
  /** The user who opened it: only they may hang it up. */
  user: string;
  provider: string;
  /** The label of the provider key that opened it. */
  key: string;
}

/** What the registry needs of a watched call. */
export interface WatchedCall {
  readonly callId: string;
  readonly userId: string;
}

export class CallRegistry<W extends WatchedCall> {
  private readonly local = new Map<string, W>();

  constructor(private readonly shared?: SharedValues) {}

  /** True when a call opened on another instance can be found here. */
  get sharedAcrossInstances(): boolean {
    return this.shared !== undefined;
  }

  get size(): number {
    return this.local.size;
  }

  open(watch: W, provider: string, keyLabel: string): void {
    this.local.set(watch.callId, watch);
    const record: CallRecord = { user: watch.userId, provider, key: keyLabel };
    this.shared?.set(recordKey(watch.callId), Buffer.from(JSON.stringify(record)), CALL_TTL_MS);
  }

  close(callId: string): void {
    this.local.delete(callId);
    this.shared?.delete(recordKey(callId));
  }

  /** A call this instance watches. */
  here(callId: string): W | undefined {
    return this.local.get(callId);
  }

  /** A call opened on any instance (this one's included, until it ends); undefined when none is known or the store cannot be read. */
  async anywhere(callId: string): Promise<CallRecord | undefined> {
    const raw = await this.shared?.get(recordKey(callId));
    if (raw === undefined) return undefined;
    try {
      const r = JSON.parse(raw.toString('utf8')) as Partial<CallRecord>;
      return typeof r.user === 'string' && typeof r.provider === 'string' && typeof r.key === 'string' ? { user: r.user, provider: r.provider, key: r.key } : undefined;
    } catch {
      return undefined;
    }
  }
}

function recordKey(callId: string): string {
  return `call:${callId}`;
}
