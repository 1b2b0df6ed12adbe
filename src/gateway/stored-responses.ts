/**
 * OpenAI's stored responses through the gateway: whose each is (response-ownership.ts: the tag in its
 * metadata, and the latest remembered), who may continue or reach it, and the background ones, whose
 * reservation stays held until they finish (background-responses.ts). The HTTP routes that reach a
 * response (`/v1/responses/{id}`) are the gateway's; this is what they and the relay ask.
 */
import { randomUUID } from 'node:crypto';
import type { Counters, SharedValues, SharedWork, UserRecord } from '../store/types.js';
import type { Caller } from './auth.js';
import { BackgroundResponses, hasFinished, RESPONSE_ID, responseState, type BackgroundOptions, type Handover, type ToFollow } from './background-responses.js';
import { Cancel } from './cancel.js';
import { packFlight, readPacked, unpackFlight, userNow, type Flight, type PackedWork } from './flight.js';
import { badRequest } from './http-error.js';
import type { PoolKey } from './keys.js';
import type { Logger } from './logger.js';
import { Owners, type OwnerRecord } from './owners.js';
import { keepLease } from './policy.js';
import { openai } from './providers/openai.js';
import type { Usage } from './providers/types.js';
import { ownerFromTag } from './response-ownership.js';
import { ROUTES } from './routes.js';
import type { Upstream } from './upstream.js';
import type { UpstreamAnswer } from './upstream-call.js';
import { usageOfAnswer } from './usage-search.js';

/** How long the gateway knows whose a background response is, where every instance finds it. */
export const BACKGROUND_OWNER_HOURS = 24;
/** Stored responses remembered here; older ones are known by their tag. */
const RECENT_RESPONSES = 100_000;
/** OpenAI keeps a stored response 30 days. */
const STORED_DAYS = 30;

/** Where an answer came from: the upstream and the key, for what belongs to that key's project. */
export interface Via {
  up: Upstream;
  key: PoolKey;
}

/** What the stored responses need of the gateway. */
export interface StoredResponsesGateway {
  /** OpenAI's upstream, asked about a response the gateway does not remember. */
  readonly openai: Upstream;
  readonly counters: Counters;
  readonly log: Logger;
  /** The store every instance shares (Redis), for whose a background response is. */
  readonly shared: SharedValues | undefined;
  readonly background: BackgroundOptions;
  /** Bills a flight (the ledger, the store, the log line, the metrics). */
  finish(f: Flight, usage: Usage, outcome: string, billed: boolean): void;
  /** A JSON answer's text, with the gateway's errors for one too large or cut off. */
  answerText(up: UpstreamAnswer): Promise<string>;
  /** Why the caller may no longer spend (a disabled user, a revoked token), or undefined. */
  refusal(caller: Caller): string | undefined;
  /** A user as the directory has it now (a response taken over from another instance is its user's still). */
  user(id: string): UserRecord | undefined;
  /** Work any instance on the shared store can take over (Redis); undefined alone. */
  readonly work: SharedWork | undefined;
}

interface FollowedResponse {
  f: Flight;
  maxTokens: number;
  stopLease: () => void;
}

/** What another instance needs to follow a background response and bill it: its flight, less what only this process holds. */
interface PackedResponse extends PackedWork {
  since: number;
  maxTokens: number;
}

const RESPONSES_ROUTE = ROUTES.get('/v1/responses')!;

export class StoredResponses {
  /** Whose each background response is (the caller's alone to retrieve, cancel or delete), and the key that started it. */
  private readonly background: Owners;
  /** Whose the latest stored responses are, here alone: each response's tag says it for the others. */
  private readonly recent = new Owners('recent-response', STORED_DAYS * 24 * 3_600_000, undefined, RECENT_RESPONSES);
  /** The background responses started here, followed until they finish, then billed. */
  private readonly followed: BackgroundResponses<FollowedResponse>;

  constructor(private readonly g: StoredResponsesGateway) {
    this.background = new Owners('response', BACKGROUND_OWNER_HOURS * 3_600_000, g.shared);
    const handover: Handover<FollowedResponse> | undefined = g.work && {
      work: g.work,
      owner: randomUUID(),
      pack: (x) => this.pack(x),
      unpack: (raw) => this.unpack(raw),
      drop: (x) => x.stopLease(),
    };
    this.followed = new BackgroundResponses<FollowedResponse>(
      (x, answer, outcome) => {
        x.stopLease();
        const usage = answer === undefined ? undefined : usageOfAnswer(openai, answer);
        if (usage !== undefined) return g.finish(x.f, usage, outcome, true);
        // Nothing reported: billed as reserved (a failure for its prompt alone), never for nothing.
        g.finish(x.f, { tokensIn: x.f.promptTokens, tokensOut: outcome === 'failed' ? 0 : x.maxTokens }, `${outcome}_estimated`, true);
      },
      g.log,
      g.background,
      (x) => g.refusal(x.f.caller),
      handover,
    );
  }

  private pack({ item: { f, maxTokens }, key, since }: ToFollow<FollowedResponse>): Buffer {
    const packed: PackedResponse = { v: 1, ...packFlight(f), since, maxTokens, key: key!.label };
    return Buffer.from(JSON.stringify(packed));
  }

  /** A response another instance left: its flight made again here, billed through this instance. */
  private unpack(raw: Buffer): ToFollow<FollowedResponse> | undefined {
    const p = readPacked<PackedResponse>(raw);
    if (p === undefined || typeof p.maxTokens !== 'number' || typeof p.since !== 'number') return undefined;
    const f = unpackFlight(p, RESPONSES_ROUTE, openai, userNow(p, this.g.user));
    const up = this.g.openai;
    const stopLease = f.plan === undefined ? () => undefined : keepLease(this.g.counters, f.plan, (err) => this.g.log.error({ err, reqId: f.reqId }, "renewing a background response's place among the requests in flight failed"));
    return { item: { f, maxTokens: p.maxTokens, stopLease }, up, key: up.pool.byLabel(p.key), since: p.since };
  }

  /** The background responses this instance follows now. */
  get following(): number {
    return this.followed.size;
  }

  /** True when a background response started on another instance can be found here. */
  get sharedAcrossInstances(): boolean {
    return this.background.sharedAcrossInstances;
  }

  /** Whose a response is, remembered here (and for a background one, where every instance finds it). */
  note(id: string, f: Flight, via: Via, inBackground: boolean): void {
    const record = { user: f.caller.user.id, provider: via.up.provider.name, key: via.key.label, model: f.model };
    this.recent.set(id, record);
    if (inBackground) this.background.set(id, record);
  }

  /**
   * A response continued (`previous_response_id`) must be the caller's: remembered as theirs, or tagged
   * with their id when OpenAI is asked. Any other is refused as not found, whether it exists or not.
   */
  async allowPrevious(caller: Caller, id: unknown): Promise<OwnerRecord> {
    if (typeof id !== 'string' || !RESPONSE_ID.test(id)) throw badRequest("'previous_response_id' must be a response's id (resp_…)");
    const notFound = () => badRequest(`Previous response with id '${id}' not found among this user's responses (made through the gateway).`);
    const known = (await this.recent.get(id)) ?? (await this.background.get(id));
    if (known !== undefined) {
      if (known.user !== caller.user.id) throw notFound();
      return known;
    }
    const owner = await this.taggedOwner(id, new Cancel());
    if (owner === undefined || owner.user !== caller.user.id) throw notFound();
    this.recent.set(id, owner);
    return owner;
  }

  /** Whose a response is: remembered (a background one, with Redis on every instance), or else by its tag. */
  async ownerOf(id: string, cancel: Cancel): Promise<OwnerRecord | undefined> {
    const known = (await this.background.get(id)) ?? (await this.recent.get(id));
    if (known !== undefined) return known;
    // Read from its tag once, then remembered: a client polling it does not have OpenAI asked twice a poll.
    const tagged = await this.taggedOwner(id, cancel);
    if (tagged !== undefined) this.recent.set(id, tagged);
    return tagged;
  }

  /** A response deleted: nobody reaches it any more. */
  forget(id: string): void {
    this.background.delete(id);
    this.recent.delete(id);
  }

  /** The answer to a background request: true when the response runs on, and is followed (its reservation held) until it has finished. */
  startedInBackground(answer: Buffer, f: Flight, maxTokens: number, via: Via): boolean {
    const s = responseState(answer);
    if (s === undefined) return false;
    this.note(s.id, f, via, true);
    if (hasFinished(s.status)) return false;
    this.follow(s.id, f, maxTokens, via);
    return true;
  }

  /** Follows a background response until it has finished, then bills it. */
  follow(id: string, f: Flight, maxTokens: number, via: Via): void {
    // A response in flight keeps its place among the requests in flight (the lease) while it runs.
    const stopLease = f.plan === undefined ? () => undefined : keepLease(this.g.counters, f.plan, (err) => this.g.log.error({ err, reqId: f.reqId }, "renewing a background response's place among the requests in flight failed"));
    this.followed.follow(id, { f, maxTokens, stopLease }, via.up, via.key);
    this.g.log.info({ reqId: f.reqId, user: f.caller.user.name, responseId: id }, 'background response followed until it finishes');
  }

  /** A response object relayed to its client: billed now if it has finished and is followed here. */
  seen(answer: Buffer): void {
    this.followed.seen(answer);
  }

  /** Cancels and bills the background responses followed here: the gateway is shutting down. */
  stopAll(): Promise<void> {
    return this.followed.stopAll();
  }

  /** Whose a stored response is by its tag, asking OpenAI; undefined when OpenAI has none by that id. */
  private taggedOwner(id: string, cancel: Cancel): Promise<OwnerRecord | undefined> {
    return ownerFromTag(this.g.openai, `/responses/${id}`, `response ${id}`, cancel, (up) => this.g.answerText(up));
  }

}
