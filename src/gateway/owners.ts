/**
 * Who owns what a provider keeps between requests (a WebRTC call, a background response), so that
 * only its owner can reach it through the gateway, and with which provider key it was made (a call's
 * hang-up, a response's retrieval must come from the key's own project). Kept in memory until it
 * expires and, on a store that every instance shares (Redis), there too: behind a load balancer the
 * next request for it can reach another instance. What is kept is a user id, a provider's name, a
 * model and the key's label (the provider, its last four characters and a fingerprint, as the logs
 * show it), never the key.
 */
import type { SharedValues } from '../store/types.js';
import type { BatchSummary, GeminiFileRead } from './batch-lines.js';

export interface OwnerRecord {
  /** The user who made it: only they may reach it. */
  user: string;
  provider: string;
  /** The label of the provider key that made it. */
  key: string;
  model?: string;
  /** A batch input file's requests, as the gateway read them when it was uploaded. */
  batch?: BatchSummary;
  /**
   * An upload under way: where its bytes go at the provider (a path and query), how many were
   * declared, their type; a Gemini one's requests as read so far (a batch file) and its last bytes;
   * an OpenAI one's parts.
   */
  upload?: { path: string; bytes: number; type: string; lines?: GeminiFileRead; tail?: UploadTail; parts?: UploadParts };
  /** A Gemini batch file's requests, as the gateway read them when it went up. */
  geminiBatch?: GeminiFileRead;
  /** A context cache: what it holds and until when it was billed. */
  cache?: CacheHeld;
}

/** A Gemini context cache's tokens, and when the time billed for keeping it ends (ms since the epoch). */
export interface CacheHeld {
  tokens: number;
  expires: number;
  /**
   * The UTC day (a budget period key, `d…`) its storage was last billed on, and how much storage was
   * billed that day: what a cache ended early that same day may be given back. Budgets are days and
   * months (UTC), so a sum billed today lies in every current period; one billed on an earlier day
   * may lie in a period that has ended, and is not given back.
   */
  day?: string;
  dayUsd?: number;
}

/** The last bytes a resumable upload took (base64), and where in the file they end: a secret cut between two chunks is read whole with the next. */
export interface UploadTail {
  bytes: string;
  end: number;
}

/**
 * The parts an OpenAI upload took, sent in any order: how many bytes they hold in all, and the ends of
 * each text part by its id (`part_…`), so that a secret cut between two parts is read whole when the
 * completion gives their order.
 */
export interface UploadParts {
  received: number;
  ends: Record<string, PartEnds>;
}

/** A text part's first bytes and last bytes (base64, whole characters, 4 KiB each at most); a part of 8 KiB or less is kept whole in `head`, with no `tail`. */
export interface PartEnds {
  head: string;
  tail?: string;
}

/** Base64 of 8 KiB: the most a part's end may hold. */
const MAX_END_CHARS = 10_924;

export class Owners {
  private readonly local = new Map<string, { record: OwnerRecord; until: number }>();
  private sets = 0;

  constructor(
    /** What the ids name, to keep kinds apart in the shared store. */
    private readonly kind: string,
    private readonly ttlMs: number,
    private readonly shared?: SharedValues,
    /** At most this many kept in memory, the oldest forgotten first. */
    private readonly maxLocal = Infinity,
  ) {}

  /** True when what another instance recorded can be found here. */
  get sharedAcrossInstances(): boolean {
    return this.shared !== undefined;
  }

  /** `ttlMs`: how long this one is known, when not the kind's (a cache kept for as long as it was asked). */
  set(id: string, record: OwnerRecord, ttlMs = this.ttlMs): void {
    const now = Date.now();
    // Expired records go every so often, so that a busy gateway's map does not grow without end.
    if (++this.sets % 256 === 0) for (const [k, v] of this.local) if (v.until <= now) this.local.delete(k);
    if (this.local.size >= this.maxLocal) this.local.delete(this.local.keys().next().value!);
    const ttl = Math.max(1000, Math.ceil(ttlMs));
    this.local.set(id, { record, until: now + ttl });
    this.shared?.set(this.keyOf(id), Buffer.from(JSON.stringify(record)), ttl);
  }

  delete(id: string): void {
    this.local.delete(id);
    this.shared?.delete(this.keyOf(id));
  }

  /**
   * The record, from this instance or the shared store; undefined when none is known (or the store
   * cannot be read). `changing`: a record another instance may have changed since (an upload's
   * progress) is read from the shared store first.
   */
  async get(id: string, changing = false): Promise<OwnerRecord | undefined> {
    const mine = this.local.get(id);
    if (mine !== undefined && mine.until > Date.now() && (!changing || this.shared === undefined)) return mine.record;
    const raw = await this.shared?.get(this.keyOf(id));
    if (raw === undefined) return undefined;
    try {
      const r = JSON.parse(raw.toString('utf8')) as Partial<OwnerRecord>;
      if (typeof r.user !== 'string' || typeof r.provider !== 'string' || typeof r.key !== 'string') return undefined;
      return {
        user: r.user,
        provider: r.provider,
        key: r.key,
        ...(typeof r.model === 'string' ? { model: r.model } : {}),
        ...(isSummary(r.batch) ? { batch: r.batch } : {}),
        ...(isUpload(r.upload) ? { upload: r.upload } : {}),
        ...(isFileRead(r.geminiBatch) ? { geminiBatch: r.geminiBatch } : {}),
        ...(isCache(r.cache) ? { cache: r.cache } : {}),
      };
    } catch {
      return undefined;
    }
  }

  private keyOf(id: string): string {
    return `${this.kind}:${id}`;
  }
}

function isCache(v: unknown): v is CacheHeld {
  const c = v as Partial<CacheHeld> | null | undefined;
  return typeof c === 'object' && c !== null && isCount(c.tokens) && typeof c.expires === 'number' && Number.isSafeInteger(c.expires) && (c.day === undefined || typeof c.day === 'string') && (c.dayUsd === undefined || isAmount(c.dayUsd));
}

/** A whole number of things (tokens, bytes, lines), never negative. */
function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/** A finite sum that is never negative (dollars, an estimate). */
function isAmount(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n >= 0;
}

function isSummary(v: unknown): v is BatchSummary {
  const b = v as Partial<BatchSummary> | null | undefined;
  return typeof b === 'object' && b !== null && typeof b.endpoint === 'string' && typeof b.model === 'string' && [b.requests, b.promptTokens, b.maxTokens, b.reserveUsd, b.uncapped].every(isAmount);
}

function isUpload(v: unknown): v is NonNullable<OwnerRecord['upload']> {
  const u = v as Partial<NonNullable<OwnerRecord['upload']>> | null | undefined;
  return typeof u === 'object' && u !== null && typeof u.path === 'string' && typeof u.type === 'string' && typeof u.bytes === 'number' && Number.isSafeInteger(u.bytes) && (u.lines === undefined || isFileRead(u.lines)) && (u.tail === undefined || (typeof u.tail.bytes === 'string' && typeof u.tail.end === 'number' && Number.isSafeInteger(u.tail.end))) && (u.parts === undefined || isParts(u.parts));
}

function isParts(v: unknown): v is UploadParts {
  const p = v as Partial<UploadParts> | null | undefined;
  return typeof p === 'object' && p !== null && isCount(p.received) && typeof p.ends === 'object' && p.ends !== null && !Array.isArray(p.ends) && Object.values(p.ends).every(isEnds);
}

function isEnds(v: unknown): v is PartEnds {
  const e = v as Partial<PartEnds> | null | undefined;
  return typeof e === 'object' && e !== null && isBase64(e.head) && (e.tail === undefined || isBase64(e.tail));
}

function isBase64(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_END_CHARS && /^[A-Za-z0-9+/]*={0,2}$/.test(v);
}

function isFileRead(v: unknown): v is GeminiFileRead {
  const f = v as Partial<GeminiFileRead> | null | undefined;
  return (
    typeof f === 'object' &&
    f !== null &&
    typeof f.carry === 'string' &&
    Array.isArray(f.costs) &&
    f.costs.length % 3 === 0 &&
    f.costs.every(isAmount) &&
    Array.isArray(f.objects) &&
    f.objects.every((o) => typeof o === 'string') &&
    [f.lines, f.uncapped, f.bytes].every(isCount)
  );
}
