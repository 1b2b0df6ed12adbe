/**
 * OpenAI's background responses (`POST /v1/responses` with `background: true`): OpenAI answers at once
 * (`queued`) and runs the model afterwards, so the answer the gateway relays carries no usage, and a
 * client that leaves a background stream does not stop the response. Billed like other answers, each
 * would cost a few tokens whatever it then produced: a way past every budget.
 *
 * So the gateway keeps the request's reservation held and follows each such response until it has
 * finished. It bills the usage of the first finished state it sees: in an answer it relays (the
 * client polling `GET /v1/responses/{id}` through it), or by asking OpenAI itself every `pollMs`,
 * with the key that started the response. A response still running after `maxMs` is cancelled and
 * billed for what it reports.
 *
 * Alone (no shared store), a gateway that shuts down cancels what it follows and bills it, since
 * nothing could bill it later. With a store every instance shares (Redis), each followed response is
 * recorded there with a lease the instance renews at every look: one that shuts down lets its leases
 * go, and one that dies lets them lapse, and another instance takes the responses over and bills
 * them, once (whoever removes the record bills). A deploy does not cancel a long research run.
 */
import type { SharedWork } from '../store/types.js';
import { Cancel } from './cancel.js';
import type { PoolKey } from './keys.js';
import type { Logger } from './logger.js';
import type { Upstream } from './upstream.js';

/** The states a response ends in. */
const FINISHED = new Set(['completed', 'failed', 'cancelled', 'incomplete']);
/** A response object's id, as OpenAI makes them (and as the gateway puts it in a path). */
export const RESPONSE_ID = /^resp_[A-Za-z0-9_-]{1,200}$/;
/** Larger response objects are not read whole (their usage is then unknown). */
const MAX_OBJECT = 16 * 1024 * 1024;

export interface ResponseState {
  id: string;
  status: string;
}

/** The id and status of a response object (a JSON answer); undefined for anything else. */
export function responseState(answer: Buffer): ResponseState | undefined {
  let o: unknown;
  try {
    o = JSON.parse(answer.toString('utf8'));
  } catch {
    return undefined;
  }
  const r = o as { object?: unknown; id?: unknown; status?: unknown } | null;
  if (r === null || typeof r !== 'object' || r.object !== 'response' || typeof r.id !== 'string' || typeof r.status !== 'string' || !RESPONSE_ID.test(r.id)) return undefined;
  return { id: r.id, status: r.status };
}

export function hasFinished(status: string): boolean {
  return FINISHED.has(status);
}

/** The ledger's outcome for a response that finished this way. */
export function outcomeOf(status: string): string {
  return status === 'completed' ? 'ok' : status;
}

export interface BackgroundOptions {
  /** How often OpenAI is asked about the responses followed. */
  pollMs: number;
  /** How long a response may run before the gateway cancels it. */
  maxMs: number;
  /**
   * What a gateway on a shared store (Redis) does with the responses it follows when it shuts down:
   * hands them over to the other instances (the default), or cancels and bills them, as a gateway
   * alone does (for a single instance that may not come back).
   */
  onShutdown?: 'handover' | 'cancel';
}

export const DEFAULT_BACKGROUND: BackgroundOptions = { pollMs: 10_000, maxMs: 6 * 60 * 60_000 };

/** A lease lasts at least this long, so that a busy instance's stalled event loop does not lose its responses. */
const MIN_LEASE_MS = 2_000;
/** Responses taken over at most at one look. */
const ADOPT_AT_ONCE = 50;
/** A record outlives the longest a response may run by this much, for an instance that comes back late to bill it. */
const RECORD_SPARE_MS = 24 * 60 * 60_000;

/**
 * What is followed and how it is asked about: a background response (RESPONSES), or a batch
 * (batches.ts), whose calls and states differ but whose following, leases and billing do not.
 */
export interface Asking {
  /** What one is called in the logs ('background response', 'batch'). */
  noun: string;
  plural: string;
  /** What the logs call its id. */
  logKey: string;
  /** The upstream paths that fetch one and cancel one. */
  statusPath(id: string): string;
  cancelPath(id: string): string;
  /** Headers the provider wants besides the key (Anthropic's API version). */
  headers?: Record<string, string>;
  /** Its id and status in an answer (the object as the provider returns it); undefined for anything else. */
  state(answer: Buffer): ResponseState | undefined;
  finished(status: string): boolean;
  outcome(status: string): string;
  /**
   * Alone at shutdown: cancel each (a response, cut short and billed for what it reports), or bill
   * each as reserved and let it run on (a batch, whose results its user still wants).
   */
  aloneAtShutdown: 'cancel' | 'bill';
  /**
   * A cancel that takes a while (a batch is `cancelling` until the requests running end, and reports
   * what ran once `cancelled`): followed on until it has ended, rather than billed on the cancel's answer.
   */
  cancelWinds?: boolean;
  /** How long one may run before the gateway cancels it, when not `BackgroundOptions.maxMs` (a batch's day). */
  maxMs?: number;
}

export const RESPONSES: Asking = {
  noun: 'background response',
  plural: 'background responses',
  logKey: 'responseId',
  statusPath: (id) => `/responses/${id}`,
  cancelPath: (id) => `/responses/${id}/cancel`,
  state: responseState,
  finished: hasFinished,
  outcome: outcomeOf,
  aloneAtShutdown: 'cancel',
};

/** A response to follow: what it is billed through, and the upstream and key to ask about it with (undefined: this instance does not hold that key). */
export interface ToFollow<T> {
  item: T;
  up: Upstream;
  key: PoolKey | undefined;
  /** When it started being followed (ms since the epoch). */
  since: number;
}

/** How followed responses are shared with the other instances: where, as whom, and how one is written down and read back. */
export interface Handover<T> {
  work: SharedWork;
  /** This instance, as the holder of its leases. */
  owner: string;
  /** What another instance needs to follow the response and bill it. */
  pack(f: ToFollow<T>): Buffer;
  /** A response another instance left; undefined when its record cannot be read. */
  unpack(raw: Buffer): ToFollow<T> | undefined;
  /** A response followed here that this instance lets go without billing it (handed over, or taken over). */
  drop(item: T): void;
}

interface Followed<T> extends ToFollow<T> {
  asking: boolean;
  /** Why the gateway cancelled it, when it follows it on until the cancel has taken (Asking.cancelWinds). */
  cancelled?: string;
  /** Its record in the shared store: true once written, false when it could not be. */
  shared?: Promise<boolean>;
}

/**
 * The responses followed, each with what the gateway bills it through (`T`: its flight). `settle` gets
 * the finished response object, or undefined when none could be had (it is billed as reserved).
 */
export class BackgroundResponses<T> {
  private readonly followed = new Map<string, Followed<T>>();
  private timer: NodeJS.Timeout | undefined;

  private looking = false;
  /** Bills waiting on Redis to say whether this instance is the one to make them; a shutdown waits for them. */
  private readonly billing = new Set<Promise<void>>();
  private stopped = false;
  /** A lease lasts three looks (two seconds at least): an instance misses two before another takes its responses over. */
  private readonly leaseMs: number;

  constructor(
    private readonly settle: (item: T, answer: Buffer | undefined, outcome: string) => void | Promise<void>,
    private readonly log: Logger,
    private readonly opts: BackgroundOptions = DEFAULT_BACKGROUND,
    /** Why a response may not run on (its user disabled, its token revoked): it is cancelled at the next look. */
    private readonly refuse: (item: T) => string | undefined = () => undefined,
    private readonly handover?: Handover<T>,
    private readonly asking: Asking = RESPONSES,
  ) {
    this.leaseMs = Math.max(opts.pollMs * 3, MIN_LEASE_MS);
    // Shared, it also looks for responses other instances left, following any itself or not.
    if (handover !== undefined) this.startLooking();
  }

  get size(): number {
    return this.followed.size;
  }

  following(id: string): boolean {
    return this.followed.has(id);
  }

  follow(id: string, item: T, up: Upstream, key: PoolKey): void {
    if (this.followed.has(id)) return;
    const x: Followed<T> = { item, up, key, since: Date.now(), asking: false };
    if (this.handover !== undefined) x.shared = this.record(id, x, this.handover);
    this.followed.set(id, x);
    this.startLooking();
    // Started as the gateway closes (a request that was on its way): it could not be billed later.
    if (this.stopped) void this.stopAll();
  }

  /** Writes a followed response's record where the other instances find it: true once written. */
  private record(id: string, x: Followed<T>, h: Handover<T>): Promise<boolean> {
    const lifetime = this.opts.maxMs + RECORD_SPARE_MS - (Date.now() - x.since);
    return h.work.put(id, h.pack(x), h.owner, this.leaseMs, Math.max(lifetime, this.leaseMs)).then(
      () => true,
      (err: unknown) => {
        this.log.warn({ [this.asking.logKey]: id, err }, `recording a ${this.asking.noun} where the other instances find it failed (Redis): this instance alone follows it`);
        return false;
      },
    );
  }

  private startLooking(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setInterval(() => void this.look(), this.opts.pollMs);
    this.timer.unref();
  }

  /** One look: at the responses followed here, then (shared) at the leases, and at what other instances left. */
  private async look(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      await this.askAll();
      if (this.handover !== undefined && !this.stopped) await this.share(this.handover);
    } finally {
      this.looking = false;
    }
  }

  private async share(h: Handover<T>): Promise<void> {
    try {
      const recorded: string[] = [];
      for (const [id, x] of this.followed) if (x.shared !== undefined && (await x.shared)) recorded.push(id);
      const { taken, missing } = await h.work.renew(recorded, h.owner, this.leaseMs);
      for (const id of taken) {
        const x = this.followed.get(id);
        if (x === undefined || x.asking) continue;
        // This instance missed its looks (stalled, or cut off from Redis), and another took the response over.
        this.followed.delete(id);
        h.drop(x.item);
        this.log.info({ [this.asking.logKey]: id }, `${this.asking.noun} taken over by another instance`);
      }
      for (const id of missing) {
        const x = this.followed.get(id);
        if (x === undefined) continue;
        // Redis lost its data (restarted empty): recorded again, still followed here.
        this.log.warn({ [this.asking.logKey]: id }, `a ${this.asking.noun} followed here was gone from Redis; recorded again`);
        x.shared = this.record(id, x, h);
      }
      for (const { id, item } of await h.work.adopt(h.owner, this.leaseMs, ADOPT_AT_ONCE)) {
        if (this.followed.has(id)) continue;
        const x = h.unpack(item);
        if (x === undefined) {
          this.log.error({ [this.asking.logKey]: id }, `a ${this.asking.noun} another instance left could not be read; it is not billed`);
          await h.work.finish(id);
          continue;
        }
        this.followed.set(id, { ...x, asking: false, shared: Promise.resolve(true) });
        this.log.info({ [this.asking.logKey]: id }, `${this.asking.noun} taken over from an instance that stopped following it`);
        // Made with a key this instance does not hold: nobody here can ask about it; billed as reserved.
        if (x.key === undefined) this.done(id, undefined, 'key_unavailable');
      }
    } catch (err) {
      this.log.warn({ err }, `sharing the ${this.asking.plural} with the other instances failed (Redis); trying again at the next look`);
    }
  }

  /** A response object the gateway relayed to its client: billed now if it has finished and is followed here. */
  seen(answer: Buffer): Promise<void> | undefined {
    const s = this.asking.state(answer);
    if (s !== undefined && this.asking.finished(s.status)) return this.done(s.id, answer, this.asking.outcome(s.status));
    return undefined;
  }

  /**
   * The gateway is shutting down: shared, it lets every response it follows go for another instance
   * to take over; alone (or `onShutdown: 'cancel'`), it cancels each and bills what it reports.
   */
  async stopAll(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.timer = undefined;
    const h = this.handover;
    if (h !== undefined && this.opts.onShutdown !== 'cancel') {
      const mine = [...this.followed].filter(([, x]) => x.key !== undefined);
      const recorded: string[] = [];
      for (const [id, x] of mine) if (await x.shared) recorded.push(id);
      // One whose record could not be written is known here alone: cancelled and billed, as alone.
      const alone = mine.filter(([id]) => !recorded.includes(id)).map(([id]) => id);
      for (const id of recorded) {
        h.drop(this.followed.get(id)!.item);
        this.followed.delete(id);
      }
      await h.work.release(recorded, h.owner).catch((err: unknown) => this.log.warn({ err }, `letting the ${this.asking.plural} go failed (Redis); the other instances take them over once this one's leases lapse`));
      if (recorded.length > 0) this.log.info({ handedOver: recorded.length }, `${this.asking.plural} handed over to the other instances`);
      await Promise.all(alone.map((id) => this.leave(id)));
    } else await Promise.all([...this.followed.keys()].map((id) => this.leave(id)));
    // A bill may start another (a batch's results read once Redis said this instance bills it).
    while (this.billing.size > 0) await Promise.all(this.billing);
  }

  /** Bills a finished one; what it returns settles once it is billed (when billing waits on Redis or reads results). */
  private done(id: string, answer: Buffer | undefined, outcome: string): Promise<void> | undefined {
    const x = this.followed.get(id);
    if (x === undefined) return undefined;
    this.followed.delete(id);
    if (this.followed.size === 0 && this.handover === undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    if (this.handover === undefined || x.shared === undefined) return this.bill(x.item, answer, outcome);
    const billing = this.billOnce(id, x, answer, outcome, this.handover);
    this.billing.add(billing);
    void billing.finally(() => this.billing.delete(billing));
    return billing;
  }

  /** Bills one; a bill that takes a while (a batch's results read) is one a shutdown waits for. */
  private bill(item: T, answer: Buffer | undefined, outcome: string): Promise<void> | undefined {
    const pending = this.settle(item, answer, outcome);
    if (pending === undefined) return undefined;
    const tracked = pending.catch((err: unknown) => this.log.error({ err }, `billing a finished ${this.asking.noun} failed`));
    this.billing.add(tracked);
    void tracked.finally(() => this.billing.delete(tracked));
    return tracked;
  }

  /** Shared, a finished response is billed by the one instance that removes its record. */
  private async billOnce(id: string, x: Followed<T>, answer: Buffer | undefined, outcome: string, h: Handover<T>): Promise<void> {
    const recorded = await x.shared!;
    let removed: 'mine' | 'done' | 'unknown';
    try {
      removed = await h.work.finish(id);
    } catch (err) {
      // Known here alone: billed. Recorded: followed again, to be billed once Redis answers.
      if (!recorded) return this.bill(x.item, answer, outcome);
      this.log.warn({ [this.asking.logKey]: id, err }, `removing a finished ${this.asking.noun} from Redis failed; it is billed once that succeeds`);
      if (!this.stopped) this.followed.set(id, x);
      return;
    }
    // Removed here, or known here alone, or gone from a Redis that lost its data (better billed twice than never): billed.
    if (removed !== 'done' || !recorded) return this.bill(x.item, answer, outcome);
    // Another instance took it over and billed it.
    h.drop(x.item);
    this.log.info({ [this.asking.logKey]: id }, `${this.asking.noun} billed by the instance that took it over`);
  }

  private async askAll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.followed].map(async ([id, x]) => {
        if (x.asking) return;
        if (x.key === undefined) return this.done(id, undefined, 'key_unavailable');
        if (x.cancelled === undefined) {
          if (now - x.since > (this.asking.maxMs ?? this.opts.maxMs)) return this.cancel(id, 'ran_too_long');
          const why = this.refuse(x.item);
          if (why !== undefined) return this.cancel(id, why);
        }
        x.asking = true;
        try {
          const r = await x.up.sendOn(x.key, this.asking.statusPath(id), new Cancel(), 'GET', { headers: this.asking.headers });
          const text = await r.body.text(MAX_OBJECT, 'fail');
          // Deleted before it was seen finished: what it used cannot be known any more.
          if (r.statusCode === 404) return this.done(id, undefined, 'deleted');
          if (r.statusCode >= 300) return this.log.warn({ [this.asking.logKey]: id, status: r.statusCode }, `asking the provider about a ${this.asking.noun} failed; asking again later`);
          const answer = Buffer.from(text);
          const s = this.asking.state(answer);
          if (s !== undefined && this.asking.finished(s.status)) this.done(id, answer, x.cancelled ?? this.asking.outcome(s.status));
        } catch (err) {
          this.log.warn({ [this.asking.logKey]: id, err }, `asking the provider about a ${this.asking.noun} failed; asking again later`);
        } finally {
          x.asking = false;
        }
      }),
    );
  }

  /** Alone at shutdown: cancelled and billed for what it reports, or billed as reserved and left to run. */
  private async leave(id: string): Promise<void> {
    if (this.asking.aloneAtShutdown === 'cancel') return this.cancel(id, 'shutdown');
    this.log.warn({ [this.asking.logKey]: id }, `the gateway stops following a ${this.asking.noun} that runs on: billed as reserved`);
    this.done(id, undefined, 'shutdown');
  }

  private async cancel(id: string, why: string): Promise<void> {
    const x = this.followed.get(id);
    if (x === undefined) return;
    if (x.key === undefined) return this.done(id, undefined, 'key_unavailable');
    x.asking = true;
    let answer: Buffer | undefined;
    try {
      const r = await x.up.sendOn(x.key, this.asking.cancelPath(id), new Cancel(), 'POST', { headers: this.asking.headers });
      const text = await r.body.text(MAX_OBJECT, 'fail');
      if (r.statusCode < 300) answer = Buffer.from(text);
      else this.log.warn({ [this.asking.logKey]: id, status: r.statusCode }, `cancelling a ${this.asking.noun} failed`);
    } catch (err) {
      this.log.warn({ [this.asking.logKey]: id, err }, `cancelling a ${this.asking.noun} failed`);
    }
    this.log.info({ [this.asking.logKey]: id, why }, `${this.asking.noun} cancelled by the gateway`);
    const s = answer === undefined ? undefined : this.asking.state(answer);
    // A cancel answered with the object still running, or with nothing of it (Gemini's), has yet to take.
    if (this.asking.cancelWinds && answer !== undefined && (s === undefined || !this.asking.finished(s.status)) && !this.stopped) {
      // Billed once the cancel has taken, for what ran until then.
      x.cancelled = why;
      x.asking = false;
      return;
    }
    // What the cancelled response reports; as reserved when it reports nothing.
    this.done(id, answer, why);
  }
}
