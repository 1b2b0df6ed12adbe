/**
 * Which addresses a scan may connect to when it scans URLs other people submit (the SSRF
 * guard). Only global unicast passes; IPv4 written in decimal, octal or hex, IPv4-mapped
 * IPv6 and IPv6 forms that embed an IPv4 address (NAT64, 6to4) are judged by the IPv4
 * address they reach.
 */
import ipaddr from 'ipaddr.js';

/** Well-known cloud metadata endpoints, named so that a refusal says what was at stake. */
const METADATA = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OpenStack, DigitalOcean
  '169.254.170.2', // AWS ECS task metadata
  '169.254.169.253', // AWS VPC DNS
  '100.100.100.200', // Alibaba Cloud
  '192.0.0.192', // Oracle Cloud
  'fd00:ec2::254', // AWS IMDS over IPv6
]);

export interface AddressVerdict {
  /** The address in canonical form (what the scan connects to). */
  address: string;
  family: 4 | 6;
  allowed: boolean;
  /** Why it is refused: `loopback`, `private`, `linkLocal`, `carrierGradeNat`, `cloud-metadata`, … */
  range: string;
}

/** Parses an IP address in any form browsers and `inet_aton` accept; undefined when it is not one. */
export function parseAddress(text: string): ipaddr.IPv4 | ipaddr.IPv6 | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  if (!ipaddr.isValid(bare)) return undefined;
  try {
    return ipaddr.parse(bare);
  } catch {
    return undefined;
  }
}

export function isIpLiteral(host: string): boolean {
  return parseAddress(host) !== undefined;
}

/** The IPv4 address an IPv6 address stands for, if it embeds one that routes there. */
function embeddedIPv4(addr: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = addr.range();
  if (range === 'ipv4Mapped' || range === 'rfc6145') return addr.toIPv4Address();
  const bytes = addr.toByteArray();
  if (range === 'rfc6052') return new ipaddr.IPv4(bytes.slice(12, 16)); // NAT64 64:ff9b::/96
  if (range === '6to4') return new ipaddr.IPv4(bytes.slice(2, 6)); // 2002:AABB:CCDD::/48
  return undefined;
}

/** Judges one address (any textual form) against the SSRF guard. */
export function classifyAddress(text: string): AddressVerdict {
  const parsed = parseAddress(text);
  if (!parsed) return { address: text, family: 4, allowed: false, range: 'not-an-ip-address' };
  const family = parsed.kind() === 'ipv4' ? 4 : 6;
  const address = parsed.toString();
  let judged: ipaddr.IPv4 | ipaddr.IPv6 = parsed;
  if (parsed instanceof ipaddr.IPv6) {
    const v4 = embeddedIPv4(parsed);
    if (v4) judged = v4;
    else if (parsed.range() === 'teredo') return { address, family, allowed: false, range: 'teredo' };
  }
  const judgedText = judged.toString();
  if (METADATA.has(judgedText) || METADATA.has(address)) return { address, family, allowed: false, range: 'cloud-metadata' };
  const range = judged.range();
  return { address, family, allowed: range === 'unicast', range };
}

/** An operator's exception to the guard: an address, a CIDR block, or `address:port`. */
export interface AllowEntry {
  cidr: [ipaddr.IPv4 | ipaddr.IPv6, number];
  port?: number;
}

export function parseAllowEntry(text: string): AllowEntry | undefined {
  let host = text;
  let port: number | undefined;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(text);
  const v4port = /^([^:]+):(\d+)$/.exec(text);
  if (bracketed) [host, port] = [bracketed[1], Number(bracketed[2])];
  else if (v4port) [host, port] = [v4port[1], Number(v4port[2])];
  try {
    if (host.includes('/')) return { cidr: ipaddr.parseCIDR(host), port };
    const addr = parseAddress(host);
    if (!addr) return undefined;
    return { cidr: [addr, addr.kind() === 'ipv4' ? 32 : 128], port };
  } catch {
    return undefined;
  }
}

export function isAllowListed(address: string, port: number, allow: readonly AllowEntry[]): boolean {
  const addr = parseAddress(address);
  if (!addr) return false;
  const plain = addr instanceof ipaddr.IPv6 && addr.isIPv4MappedAddress() ? addr.toIPv4Address() : addr;
  return allow.some((e) => (e.port === undefined || e.port === port) && plain.kind() === e.cidr[0].kind() && plain.match(e.cidr));
}
