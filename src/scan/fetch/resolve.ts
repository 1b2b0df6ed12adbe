/**
 * Where a scan connects: `--resolve host:port:address` overrides first (as curl has it,
 * `*` for any host), then DNS. The SSRF guard judges the address chosen here, and the
 * fetch connects to exactly that address, so DNS cannot change its answer in between.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { KeywardError } from '../../errors.js';
import { classifyAddress, isAllowListed, parseAddress, type AllowEntry } from './address.js';

export interface ResolveRule {
  /** Lower-cased host name, or `*` for any host. */
  host: string;
  port: number;
  addresses: string[];
}

export type DnsResolver = (host: string) => Promise<Array<{ address: string; family: number }>>;

const systemResolver: DnsResolver = (host) => dnsLookup(host, { all: true, verbatim: true });

/** Parses one `--resolve` value: `host:port:address[,address…]`, IPv6 in brackets. */
export function parseResolveRule(text: string): ResolveRule {
  const m = /^(\*|[^:\s]+):(\d{1,5}):(.+)$/.exec(text.trim());
  const bad = (why: string) =>
    new KeywardError('KW_USAGE', `--resolve '${text}': ${why}`, {
      hint: "write it as host:port:address, e.g. --resolve example.com:443:127.0.0.1 (IPv6 as [::1], '*' for any host)",
    });
  if (!m) throw bad('expected host:port:address');
  const port = Number(m[2]);
  if (port < 1 || port > 65535) throw bad(`port ${m[2]} is out of range`);
  const addresses = m[3].split(',').map((a) => {
    const parsed = parseAddress(a.trim());
    if (!parsed) throw bad(`'${a}' is not an IP address`);
    return parsed.toString();
  });
  return { host: m[1].toLowerCase(), port, addresses };
}

export interface LookupOptions {
  resolve?: readonly ResolveRule[];
  /** Refuse loopback, private, link-local, CGNAT and metadata addresses unless true. */
  allowPrivate: boolean;
  /** Exceptions to the guard (addresses, CIDR blocks, `address:port`). */
  allow?: readonly AllowEntry[];
  resolver?: DnsResolver;
}

export type Lookup = (host: string, port: number) => Promise<{ address: string; family: 4 | 6 }>;

/** Throws KW_SSRF_BLOCKED when the guard refuses `address`. */
export function assertAllowed(host: string, address: string, port: number, opts: Pick<LookupOptions, 'allowPrivate' | 'allow'>): { address: string; family: 4 | 6 } {
  const verdict = classifyAddress(address);
  if (!verdict.allowed && !opts.allowPrivate && !isAllowListed(verdict.address, port, opts.allow ?? [])) {
    const shown = host === verdict.address ? host : `${host} (${verdict.address})`;
    throw new KeywardError('KW_SSRF_BLOCKED', `refused to connect to ${shown}: it is a ${describeRange(verdict.range)} address`, {
      hint: 'scans of submitted URLs only reach public addresses; the keyward CLI scans private addresses (your dev servers) itself',
    });
  }
  return { address: verdict.address, family: verdict.family };
}

function describeRange(range: string): string {
  const names: Record<string, string> = {
    loopback: 'loopback',
    private: 'private-network',
    linkLocal: 'link-local',
    carrierGradeNat: 'carrier-grade NAT (100.64.0.0/10)',
    uniqueLocal: 'unique-local IPv6',
    'cloud-metadata': 'cloud metadata',
    unspecified: 'unspecified (0.0.0.0 / ::)',
    multicast: 'multicast',
    broadcast: 'broadcast',
    reserved: 'reserved',
  };
  return names[range] ?? `non-public (${range})`;
}

export type LookupAll = (host: string, port: number) => Promise<Array<{ address: string; family: 4 | 6 }>>;

/**
 * Every address the guard accepts for host:port, in resolver order (a name like `localhost` may
 * answer ::1 and 127.0.0.1 while the server listens on one of them only: the fetch tries the next
 * on a refused connection, as browsers do). Throws the first refusal when none is accepted.
 */
export function createLookupAll(opts: LookupOptions): LookupAll {
  const resolver = opts.resolver ?? systemResolver;
  return async (rawHost, port) => {
    const host = rawHost.replace(/^\[|\]$/g, '').toLowerCase();
    const rule = opts.resolve?.find((r) => r.port === port && (r.host === host || r.host === '*'));
    let candidates: string[];
    if (rule) candidates = rule.addresses;
    else if (parseAddress(host)) candidates = [host];
    else {
      try {
        candidates = (await resolver(host)).map((a) => a.address);
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        throw new KeywardError('KW_DNS', `cannot resolve ${host}: ${code === 'ENOTFOUND' ? 'no such host' : code || String(err)}`, {
          hint: 'check the spelling, or point the name at an address with --resolve host:port:address',
          cause: err,
        });
      }
      if (candidates.length === 0) throw new KeywardError('KW_DNS', `cannot resolve ${host}: no addresses`, { hint: 'check the DNS records of the host' });
    }
    let refusal: unknown;
    const accepted: Array<{ address: string; family: 4 | 6 }> = [];
    for (const candidate of candidates) {
      try {
        const ok = assertAllowed(host, candidate, port, opts);
        if (!accepted.some((a) => a.address === ok.address)) accepted.push(ok);
      } catch (err) {
        refusal ??= err;
      }
    }
    if (accepted.length === 0) throw refusal;
    return accepted;
  };
}

/** The first address the guard accepts (GatherContext.lookup). */
export function createLookup(opts: LookupOptions): Lookup {
  const all = createLookupAll(opts);
  return async (host, port) => (await all(host, port))[0];
}
