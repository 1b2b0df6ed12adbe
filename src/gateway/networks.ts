/**
 * Networks a user may call from (`allowIps`): addresses and CIDR ranges, IPv4 and IPv6. A token
 * kept on a company's servers is then useless to whoever copies it out of a log or a repository.
 */
import ipaddr from 'ipaddr.js';

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/** Why an entry is not an address or a range, or undefined when it is one. */
export function networkError(entry: string): string | undefined {
  try {
    parseEntry(entry);
    return undefined;
  } catch {
    return `'${entry.slice(0, 60)}' is not an IP address or a CIDR range (like 10.0.0.0/8, 203.0.113.7 or 2001:db8::/32)`;
  }
}

function parseEntry(entry: string): Range {
  const e = entry.trim();
  if (e.includes('/')) return ipaddr.parseCIDR(e);
  const a = ipaddr.parse(e);
  return [a, a.kind() === 'ipv4' ? 32 : 128];
}

export class NetworkList {
  private readonly ranges: Range[];

  constructor(entries: readonly string[]) {
    this.ranges = entries.map(parseEntry);
  }

  /** Whether `ip` (as a socket or X-Forwarded-For gives it; IPv4-mapped IPv6 counts as IPv4) is inside. */
  has(ip: string | undefined): boolean {
    if (ip === undefined || !ipaddr.isValid(ip)) return false;
    const a = ipaddr.process(ip);
    for (const [net, bits] of this.ranges) {
      if (a.kind() === 'ipv4' ? net.kind() === 'ipv4' && (a as ipaddr.IPv4).match(net as ipaddr.IPv4, bits) : net.kind() === 'ipv6' && (a as ipaddr.IPv6).match(net as ipaddr.IPv6, bits)) return true;
    }
    return false;
  }
}
