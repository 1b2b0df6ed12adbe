/**
 * The gateway's state behind small interfaces (DESIGN.md "Stores behind interfaces"): the same
 * gateway code runs on memory, SQLite, or Redis across instances.
 *
 * - `Directory`: users and tokens (the management CLI writes it, every request reads it): SQLite, or
 *   Redis (`RedisDirectory`) when instances on several machines must see each other's changes.
 * - `Counters`: rate limits (sliding windows) and budgets (fixed periods) admitted all-or-nothing
 *   in one atomic step, so concurrent requests can never overshoot (reserve, then settle).
 * - `Ledger`: one row per request, written in batches off the hot path.
 */

export type BudgetPeriod = 'day' | 'month';

export interface UserPolicy {
  /** Requests per minute (sliding window). */
  rpm?: number;
  /** Requests per day (sliding window). */
  rpd?: number;
  /** Tokens per minute (sliding window, reserved before forwarding, settled after). */
  tpm?: number;
  /** Requests in flight at once (streams included, until their last chunk). */
  parallel?: number;
  /** Hard budget in USD per period: refused once spent. */
  budgetUsd?: number;
  /** Soft budget in USD per period: one alert per period. */
  softBudgetUsd?: number;
  period?: BudgetPeriod;
  /** Models this user may call; absent means every model the gateway allows. */
  models?: string[];
  /** Networks this user may call from (addresses, CIDR ranges); absent means anywhere. */
  allowIps?: string[];
  /** The team this user's spend also counts for (the gateway config's `teams` gives a team its budget). */
  team?: string;
}

export interface UserRecord extends UserPolicy {
  id: string;
  name: string;
  disabled: boolean;
  /** Why the user was disabled (`manual`, `anomaly: …`). */
  disabledReason?: string;
  createdAt: number;
}

/**
 * The gateway APIs a token may be scoped to: the app route (`POST /api/ai/chat`), and OpenAI's,
 * Anthropic's and Gemini's APIs (each with its model list). A token shipped in a browser or app
 * bundle that only needs the app route then cannot be used as a general proxy by whoever copies it.
 */
export const TOKEN_SCOPES = ['app', 'openai', 'anthropic', 'gemini'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** What a token is issued with besides its user. */
export interface TokenOptions {
  /** When it stops being accepted (ms since the epoch); absent: until revoked. */
  expiresAt?: number;
  /** The APIs it may call; absent: all of them. */
  scopes?: readonly TokenScope[];
}

export interface TokenRecord {
  id: string;
  userId: string;
  /** sha256 of the whole token, hex; the token itself is never stored. */
  hash: string;
  createdAt: number;
  revokedAt?: number;
  /** When it stops being accepted (ms since the epoch); absent: until revoked. */
  expiresAt?: number;
  /** The APIs it may call; absent: all of them. A name this keyward does not know grants nothing. */
  scopes?: readonly TokenScope[];
  /** When a gateway last accepted it (to the hour: each instance records a token's use at most once an hour); absent: never. */
  lastUsedAt?: number;
}

/** A new token's record. */
export function newTokenRecord(userId: string, id: string, hash: string, options: TokenOptions): TokenRecord {
  const t: TokenRecord = { id, userId, hash, createdAt: Date.now() };
  if (options.expiresAt !== undefined) t.expiresAt = options.expiresAt;
  if (options.scopes !== undefined) t.scopes = [...options.scopes];
  return t;
}

/** One change made to users or tokens, for `keyward history`: when, by whom, and what. */
export interface DirectoryEvent {
  ts: number;
  /** Who made it: the CLI's OS user and machine, `gateway@host` for a gateway's own action, or what an embedding app set. */
  actor: string;
  action: 'user.add' | 'user.set' | 'user.disable' | 'user.enable' | 'token.issue' | 'token.revoke' | 'token.expire';
  /** The user's name, or the token's id. */
  target: string;
  /** What changed (a policy's fields, a reason, a token's user and scopes), never a secret. */
  detail?: string;
}

export interface Directory {
  /** Who the changes made through this directory are recorded as (`keyward history`). */
  actor: string;
  /** Values kept across restarts in the directory's own file (SQLite), for a gateway without Redis; absent in memory. */
  keptValues?(onError?: (err: unknown) => void): SharedValues;
  /** The changes made since `since` (ms since the epoch), oldest first, at most `limit`. */
  history(since: number, limit?: number): DirectoryEvent[] | Promise<DirectoryEvent[]>;
  /**
   * A shared directory's local copy moves with changes made elsewhere (RedisDirectory): its version
   * lets the gateway notice that the copy changed between a caller's authentication and admission.
   */
  readonly currentVersion?: number;
  /**
   * Brings a shared directory's local copy up to date if it is behind (one round trip); true when
   * something changed. The gateway calls it before refusing an unknown token, so a token issued on
   * another machine works on its very first request.
   */
  catchUp?(): Promise<boolean>;
  addUser(name: string, policy: UserPolicy): UserRecord;
  getUser(idOrName: string): UserRecord | undefined;
  listUsers(): UserRecord[];
  /** Replaces the given policy fields; `null` clears one. */
  setUser(idOrName: string, patch: { [K in keyof UserPolicy]?: UserPolicy[K] | null }): UserRecord;
  setDisabled(idOrName: string, disabled: boolean, reason?: string): UserRecord;
  addToken(userId: string, id: string, hash: string, options?: TokenOptions): TokenRecord;
  /**
   * The token and its user, current on every call so revocation is immediate: SQLite reads the file,
   * RedisDirectory its in-memory mirror that every change published through Redis updates.
   */
  lookupToken(id: string): { token: TokenRecord; user: UserRecord } | undefined;
  listTokens(userId?: string): TokenRecord[];
  revokeToken(id: string): TokenRecord;
  /** Moves the token's end to `at` if that is sooner than the end it has (a lifetime is never lengthened). */
  expireToken(id: string, at: number): TokenRecord;
  /**
   * Records that a gateway accepted the token at `at` (never moving it back). Not a change of the
   * directory: no version moves, nobody is told, and a failure loses only this note.
   */
  touchToken(id: string, at: number): void;
  close(): void;
}

/**
 * `sliding`: weighted two-window sliding counter of `windowMs`; `fixed`: a counter for a named period
 * (the key carries it); `lease`: distinct members (the requests in flight, the addresses a user was
 * called from), each held under its `member` until released or, should it never be (an instance that
 * died), until its lease of `windowMs` runs out; a member already held counts once, its lease renewed.
 */
export type CounterKind = 'sliding' | 'fixed' | 'lease';

/** One counter to check and increment. All checks of one `admit` call pass or none is applied. */
export interface CounterCheck {
  key: string;
  kind: CounterKind;
  limit: number;
  /** Sliding: the window. Fixed: how long the counter lives after it is created (the rest of its period). Lease: how long a request is held at most. */
  windowMs: number;
  /** Integer amount to add: 1 request, N tokens, or nano-USD (a lease: 1). */
  cost: number;
  /** A lease: the request's id, unique across instances, by which it is released. */
  member?: string;
}

export interface AdmitResult {
  ok: boolean;
  /** Index of the first check that refused. */
  failed: number;
  /** When the refused check will admit this cost again (ms from now). */
  retryAfterMs: number;
  /** Remaining allowance per check after this call (for `x-ratelimit-remaining-*`). */
  remaining: number[];
  /** The store's clock at admission, used to settle into the same windows. */
  now: number;
  /**
   * Nothing was counted: the shared user/token directory moved past the version the caller was
   * authenticated at (a change made on another instance). The gateway judges and plans again.
   */
  stale?: boolean;
}

/** Corrects an admitted amount after the real usage is known (delta may be negative); releases a lease (its `member`). */
export interface CounterAdjustment {
  key: string;
  kind: CounterKind;
  member?: string;
  windowMs: number;
  /** The `now` of the admission. */
  at: number;
  delta: number;
}

export interface Counters {
  /**
   * Counts every check or none. `dirVersion`: the shared directory's version the caller was judged at;
   * a store that shares the directory (Redis) counts nothing and answers `stale` when it moved since.
   */
  admit(checks: CounterCheck[], dirVersion?: number): AdmitResult | Promise<AdmitResult>;
  adjust(adjustments: CounterAdjustment[]): void | Promise<void>;
  /** Current value of a fixed counter. */
  peek(key: string): number | Promise<number>;
  /** True the first time it is called for `key` within `ttlMs` (one alert per period, across instances). */
  once(key: string, ttlMs: number): boolean | Promise<boolean>;
  /** False while the store cannot be reached (a Redis connection down); absent: always reachable. */
  reachable?(): boolean;
  close(): Promise<void>;
  /**
   * True when admission also checks a shared user/token directory for changes this instance has not
   * applied yet: the gateway then admits even a request with no limit to count, so a revocation made
   * on another instance is enforced on the very next request.
   */
  readonly checksDirectory?: boolean;
  /**
   * A store of values with a lifetime, shared by every instance on the same store (Redis), for the
   * response cache's `shared` mode; absent where nothing is shared (memory).
   */
  sharedValues?(onError?: (err: unknown) => void): SharedValues;
  /** Work of one kind that any instance on the same store can take over (Redis); absent where nothing is shared (memory). */
  sharedWork?(kind: string): SharedWork;
}

/** Values kept for a while where every instance reads them; a failure is a miss, never an error to the caller. */
export interface SharedValues {
  get(key: string): Promise<Buffer | undefined>;
  set(key: string, value: Buffer, ttlMs: number): void;
  delete(key: string): void;
}

/**
 * Work that one instance at a time carries on for a while (a background response followed until it
 * finishes), kept where every instance finds it (Redis): an instance that stops or dies leaves its
 * items, and another takes them over once their lease has lapsed. Failures reject: the caller decides.
 */
export interface SharedWork {
  /** Records an item `owner` (an instance) carries, its lease `leaseMs`, kept `ttlMs` at most. */
  put(id: string, item: Buffer, owner: string, leaseMs: number, ttlMs: number): Promise<void>;
  /** Renews the leases of `ids`; says which another owner holds now (`taken`), and which the store no longer has (`missing`: it lost its data). */
  renew(ids: readonly string[], owner: string, leaseMs: number): Promise<{ taken: string[]; missing: string[] }>;
  /** Takes over at most `max` items whose lease lapsed (their instance stopped or died). */
  adopt(owner: string, leaseMs: number, max: number): Promise<Array<{ id: string; item: Buffer }>>;
  /** Lets the items go at once, for another instance to take over (a clean shutdown). */
  release(ids: readonly string[], owner: string): Promise<void>;
  /**
   * Removes an item for good, so that what it stands for is done once: `mine` for the one caller that
   * removed it, `done` when another did, `unknown` when the store knows nothing of it (it lost its data).
   */
  finish(id: string): Promise<'mine' | 'done' | 'unknown'>;
}

export interface LedgerRow {
  ts: number;
  requestId: string;
  userId: string;
  tokenId: string;
  provider: string;
  route: string;
  model: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  latencyMs: number;
  status: number;
  /** `ok`, `client_disconnect`, `upstream_error`, … */
  outcome: string;
  /** What the client said the request was for (`x-keyward-tag`), to attribute spend. */
  tag?: string;
  /** The user's team when the request was made: a team's spend is what its members spent while in it. */
  team?: string;
}

export interface LedgerQuery {
  userId?: string;
  since?: number;
}

export interface UsageTotals {
  requests: number;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
}

/** What usage totals are summed by: the ledger's user, model, provider (whose keys served the calls), token, tag or team (an untagged request's, or one without a team, is ''). */
export type UsageDimension = 'user' | 'model' | 'provider' | 'route' | 'token' | 'tag' | 'team';

/** Totals for one user id, model, provider or token id. */
export interface UsageByKey extends UsageTotals {
  key: string;
}

export interface Ledger {
  append(rows: LedgerRow[]): void;
  rows(query: LedgerQuery): LedgerRow[];
  /** Totals per user id, model, provider or token id, highest cost first. */
  totals(by: UsageDimension, query: LedgerQuery): UsageByKey[];
  /** Spend in USD per user since a time (used to seed budgets after a restart). */
  spendSince(since: number): Map<string, number>;
  close(): void;
}
