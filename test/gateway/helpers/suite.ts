/**
 * One gateway in front of one fake upstream for a `describe` block, with a user and its token: started
 * before the block's tests, stopped after them (with any other gateway the block made on them).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll } from 'vitest';
import { issueToken, type GatewayOptions } from '../../../src/gateway/index.js';
import { period } from '../../../src/gateway/budget.js';
import { MemoryCounters, MemoryDirectory, MemoryLedger } from '../../../src/store/memory.js';
import type { LedgerRow, UserPolicy } from '../../../src/store/types.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from './fake-upstream.js';
import { startGateway, type TestGateway } from './gateway.js';
import { until } from './http.js';
import { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey } from './keys.js';

export interface GatewaySuite {
  readonly keys: { openai: string[]; anthropic: string[]; gemini: string[] };
  readonly dir: MemoryDirectory;
  readonly ledger: MemoryLedger;
  /** Set before the block's tests run. */
  upstream: FakeUpstream;
  gw: TestGateway;
  /** The suite's user's token. */
  token: string;
  /** The OpenAI SDK on the gateway, with the suite's token unless another is given. */
  oa(token?: string, origin?: string): OpenAI;
  /** The ledger's rows of one route. */
  rowsOf(route: string): LedgerRow[];
  /** Adds a user with this policy and issues it a token. */
  tokenFor(name: string, policy?: UserPolicy): string;
  /** The ledger's rows of one user. */
  rowsOfUser(name: string): LedgerRow[];
  /** The user's next row in the ledger (one more than this has returned for them before), once written. */
  nextRow(name: string): Promise<LedgerRow>;
  /** What the user's daily budget counts now (nano-USD): the suite's gateway must be given MemoryCounters. */
  spentToday(name: string): number;
  /** Another gateway on the same upstream, directory and keys, stopped with the suite. */
  another(options: Partial<GatewayOptions>): Promise<TestGateway>;
}

export interface GatewaySuiteOptions {
  /** The user the suite's token is issued to. */
  user: string;
  policy?: UserPolicy;
  upstream?: Omit<FakeUpstreamOptions, 'openaiKeys' | 'anthropicKeys' | 'geminiKeys'>;
  gateway?: Partial<GatewayOptions>;
}

export function gatewaySuite(o: GatewaySuiteOptions): GatewaySuite {
  const others: TestGateway[] = [];
  /** Rows nextRow has returned, per user. */
  const seen = new Map<string, number>();
  const s = {
    keys: { openai: [fakeOpenAiKey()], anthropic: [fakeAnthropicKey()], gemini: [fakeGeminiKey()] },
    dir: new MemoryDirectory(),
    ledger: new MemoryLedger(),
    oa: (token = s.token, origin = s.gw.origin) => new OpenAI({ baseURL: `${origin}/v1`, apiKey: token, maxRetries: 0 }),
    rowsOf: (route: string) => s.ledger.rows({}).filter((r) => r.route === route),
    tokenFor(name: string, policy: UserPolicy = {}) {
      s.dir.addUser(name, policy);
      return issueToken(s.dir, name).token;
    },
    rowsOfUser: (name: string) => s.ledger.rows({}).filter((r) => r.userId === s.dir.getUser(name)!.id),
    async nextRow(name: string) {
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      await until(`row ${n} of '${name}' is in the ledger`, () => s.rowsOfUser(name).length >= n);
      return s.rowsOfUser(name)[n - 1]!;
    },
    spentToday(name: string) {
      const counters = o.gateway?.counters;
      if (!(counters instanceof MemoryCounters)) throw new Error("spentToday reads the suite's MemoryCounters: give the suite's gateway one");
      return (counters.peek(`b:u:${s.dir.getUser(name)!.id}:${period('day').key}`) as number | undefined) ?? 0;
    },
    async another(options: Partial<GatewayOptions>) {
      const g = await startGateway(s.upstream, s.keys, { directory: s.dir, ...options });
      others.push(g);
      return g;
    },
  } as GatewaySuite;
  beforeAll(async () => {
    s.upstream = await startFakeUpstream({ ...o.upstream, openaiKeys: s.keys.openai, anthropicKeys: s.keys.anthropic, geminiKeys: s.keys.gemini });
    s.gw = await startGateway(s.upstream, s.keys, { directory: s.dir, ledger: s.ledger, ...o.gateway });
    s.dir.addUser(o.user, o.policy ?? {});
    s.token = issueToken(s.dir, o.user).token;
  });
  afterAll(async () => {
    for (const g of [s.gw, ...others]) await g.stop();
    await s.upstream.close();
  });
  return s;
}
