/**
 * The WebRTC calls a gateway watches, and (Owners) who opened each and with which provider key,
 * where every instance can read it with Redis. Behind a load balancer a client's hang-up can reach
 * another instance than the one that opened (and watches) its call: that instance hangs the call up
 * at the provider with the key that opened it (OpenAI takes a call's hang-up only from the call's own
 * project), and the watching instance sees the sideband close and settles the call as usual.
 */
import type { SharedValues } from '../store/types.js';
import { Owners, type OwnerRecord } from './owners.js';

/** OpenAI ends a Realtime session after 60 minutes; a record outlives its call (an instance that died never removes it). */
const CALL_TTL_MS = 2 * 60 * 60_000;

/** What the registry needs of a watched call. */
export interface WatchedCall {
  readonly callId: string;
  readonly userId: string;
}

export class CallRegistry<W extends WatchedCall> {
  private readonly local = new Map<string, W>();
  private readonly owners: Owners;

  constructor(shared?: SharedValues) {
    this.owners = new Owners('call', CALL_TTL_MS, shared);
  }

  /** True when a call opened on another instance can be found here. */
  get sharedAcrossInstances(): boolean {
    return this.owners.sharedAcrossInstances;
  }

  open(watch: W, provider: string, keyLabel: string): void {
    this.local.set(watch.callId, watch);
    this.owners.set(watch.callId, { user: watch.userId, provider, key: keyLabel });
  }

  close(callId: string): void {
    this.local.delete(callId);
    this.owners.delete(callId);
  }

  /** A call this instance watches. */
  here(callId: string): W | undefined {
    return this.local.get(callId);
  }

  /** A call opened on any instance (this one's included, until it ends); undefined when none is known or the store cannot be read. */
  anywhere(callId: string): Promise<OwnerRecord | undefined> {
    return this.owners.get(callId);
  }
}
