import { describe, expect, it } from 'vitest';
import { NetworkList, networkError } from '../../src/gateway/networks.js';

describe('allowed networks', () => {
  const list = new NetworkList(['10.0.0.0/8', '203.0.113.7', '2001:db8::/32', ' 192.168.1.0/24 ']);

  it('matches addresses inside a range or equal to a single address, IPv4 and IPv6', () => {
    expect(['10.1.2.3', '203.0.113.7', '2001:db8::1', '192.168.1.200'].map((ip) => list.has(ip))).toEqual([true, true, true, true]);
    expect(['11.0.0.1', '203.0.113.8', '2001:db9::1', '192.168.2.1', '::1'].map((ip) => list.has(ip))).toEqual([false, false, false, false, false]);
  });

  it('treats an IPv4-mapped IPv6 address (a dual-stack socket) as the IPv4 address', () => {
    expect(list.has('::ffff:10.9.9.9')).toBe(true);
    expect(list.has('::ffff:11.9.9.9')).toBe(false);
  });

  it('lets nothing through for an address it cannot read', () => {
    expect(list.has(undefined)).toBe(false);
    expect(list.has('not-an-ip')).toBe(false);
    expect(list.has('')).toBe(false);
  });

  it('says what is wrong with an entry, and accepts good ones', () => {
    expect(networkError('10.0.0.0/8')).toBeUndefined();
    expect(networkError('2001:db8::/32')).toBeUndefined();
    expect(networkError('10.0.0.0/33')).toMatch(/'10\.0\.0\.0\/33' is not an IP address or a CIDR range/);
    expect(networkError('office')).toMatch(/'office' is not an IP address/);
    expect(() => new NetworkList(['10.0.0.0/8', 'office'])).toThrow();
  });
});
