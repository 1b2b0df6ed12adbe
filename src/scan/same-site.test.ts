import { describe, expect, it } from 'vitest';
import { sameSiteHosts as sameSite } from './same-site.js';

describe('sameSite (which scripts count as from another site)', () => {
  it('treats the same host as the same site, whatever its case', () => {
    expect(sameSite('WWW.Example.com', 'www.example.com')).toBe(true);
    expect(sameSite('localhost', 'localhost')).toBe(true);
  });

  it('treats two hosts under one registrable domain as the same site', () => {
    expect(sameSite('cdn.example.com', 'www.example.com')).toBe(true);
    expect(sameSite('static.shop.example.co.uk', 'example.co.uk')).toBe(true);
  });

  it('tells different registrable domains apart, even under one public suffix', () => {
    expect(sameSite('cdn.example.net', 'www.example.com')).toBe(false);
    expect(sameSite('shop.co.uk', 'other.co.uk')).toBe(false);
  });

  it('compares hosts without a registrable domain (addresses, single labels) exactly', () => {
    expect(sameSite('127.0.0.1', '127.0.0.2')).toBe(false);
    expect(sameSite('localhost', 'example.com')).toBe(false);
    expect(sameSite('intranet', 'wiki')).toBe(false);
  });
});
