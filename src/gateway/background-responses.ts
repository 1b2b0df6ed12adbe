/**
 * OpenAI's background responses (`POST /v1/responses` with `background: true`): OpenAI answers at once
 * (`queued`) and runs the model afterwards, so the answer the gateway relays carries no usage, and a
 * client that leaves a background stream does not stop the response. Billed like other answers, each
 * would cost a few tokens whatever it then produced: a way past every budget.
 *
 * So the gateway keeps the request's reservation held and follows each such response until it has
 * finished. It bills the usage of the first finished state it sees: in an answer it relays (the
 * client polling `GET /v1/responses/{id}` through it), or by asking OpenAI itself every `pollMs`,
 * with the key that started the response. A response still running after `maxMs`, or when the
 * gateway shuts down, is cancelled and billed for what it reports (the gateway could no longer bill
 * it otherwise).
 */
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
}

export const DEFAULT_BACKGROUND: BackgroundOptions = { pollMs: 10_000, maxMs: 6 * 60 * 60_000 };

interface Followed<T> {
  item: T;
  up: Upstream;
  key: PoolKey;
  since: number;
  asking: boolean;
}

/**
 * The responses followed, each with what the gateway bills it through (`T`: its flight). `settle` gets
 * the finished response object, or undefined when none could be had (it is billed as reserved).
 */
export class BackgroundResponses<T> {
  private readonly followed = new Map<string, Followed<T>>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly settle: (item: T, answer: Buffer | undefined, outcome: string) => void,
    private readonly log: Logger,
    private readonly opts: BackgroundOptions = DEFAULT_BACKGROUND,
    /** Why a response may not run on (its user disabled, its token revoked): it is cancelled at the next look. */
    private readonly refuse: (item: T) => string | undefined = () => undefined,
  ) {}

  get size(): number {
    return this.followed.size;
  }

  following(id: string): boolean {
    return this.followed.has(id);
  }

  follow(id: string, item: T, up: Upstream, key: PoolKey): void {
    if (this.followed.has(id)) return;
    this.followed.set(id, { item, up, key, since: Date.now(), asking: false });
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.askAll(), this.opts.pollMs);
      this.timer.unref();
    }
  }

  /** A response object the gateway relayed to its client: billed now if it has finished and is followed here. */
  seen(answer: Buffer): void {
    const s = responseState(answer);
    if (s !== undefined && hasFinished(s.status)) this.done(s.id, answer, outcomeOf(s.status));
  }

  /** Cancels every response still followed and bills what each reports: the gateway is shutting down. */
  async stopAll(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.followed.keys()].map((id) => this.cancel(id, 'shutdown')));
  }

  private done(id: string, answer: Buffer | undefined, outcome: string): void {
    const x = this.followed.get(id);
    if (x === undefined) return;
    this.followed.delete(id);
    if (this.followed.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
    this.settle(x.item, answer, outcome);
  }

  private async askAll(): Promise<void> {
    const now = Date.now();
    await Promise.all(
      [...this.followed].map(async ([id, x]) => {
        if (x.asking) return;
        if (now - x.since > this.opts.maxMs) return this.cancel(id, 'ran_too_long');
        const why = this.refuse(x.item);
        if (why !== undefined) return this.cancel(id, why);
        x.asking = true;
        try {
          const r = await x.up.sendOn(x.key, `/responses/${id}`, new Cancel(), 'GET');
          const text = await r.body.text(MAX_OBJECT, 'fail');
          // Deleted before it was seen finished: what it used cannot be known any more.
          if (r.statusCode === 404) return this.done(id, undefined, 'deleted');
          if (r.statusCode >= 300) return this.log.warn({ responseId: id, status: r.statusCode }, 'asking OpenAI about a background response failed; asking again later');
          const answer = Buffer.from(text);
          const s = responseState(answer);
          if (s !== undefined && hasFinished(s.status)) this.done(id, answer, outcomeOf(s.status));
        } catch (err) {
          this.log.warn({ responseId: id, err }, 'asking OpenAI about a background response failed; asking again later');
        } finally {
          x.asking = false;
        }
      }),
    );
  }

  private async cancel(id: string, why: string): Promise<void> {
    const x = this.followed.get(id);
    if (x === undefined) return;
    x.asking = true;
    let answer: Buffer | undefined;
    try {
      const r = await x.up.sendOn(x.key, `/responses/${id}/cancel`, new Cancel());
      const text = await r.body.text(MAX_OBJECT, 'fail');
      if (r.statusCode < 300) answer = Buffer.from(text);
      else this.log.warn({ responseId: id, status: r.statusCode }, 'cancelling a background response failed');
    } catch (err) {
      this.log.warn({ responseId: id, err }, 'cancelling a background response failed');
    }
    this.log.info({ responseId: id, why }, 'background response cancelled by the gateway');
    // What the cancelled response reports; as reserved when it reports nothing.
    this.done(id, answer, why);
  }
}
