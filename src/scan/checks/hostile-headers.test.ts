/**
 * Header checks are pure functions of the facts, so a hostile server's headers reach them as
 * data: huge values, thousands of tokens, odd bytes. Each check must finish, and evidence
 * must stay short (no megabyte of header copied into a report).
 */
import { describe, expect, it } from 'vitest';
import type { HeaderMap, ScanFacts } from '../types.js';
import { CHECKS } from './index.js';

const HEADER_CHECKS = CHECKS.filter((c) => c.section === 'headers');

function facts(headers: Array<[string, string]>, body = '<!doctype html><p>x</p>'): ScanFacts {
  const map: HeaderMap = {};
  for (const [n, v] of headers) (map[n.toLowerCase()] ??= []).push(v);
  return {
    target: { input: 'https://hostile.example', url: 'https://hostile.example/', host: 'hostile.example' },
    final: { url: 'https://hostile.example/', status: 200, headers: map, rawHeaders: headers, body, bodyTruncated: false, chain: [{ url: 'https://hostile.example/', status: 200 }] },
    https: true,
    page: { metas: [], scripts: [], links: [] },
  };
}

const huge = (unit: string, times: number): string => unit.repeat(times);

const HOSTILE: Array<[string, Array<[string, string]>]> = [
  ['a megabyte CSP of repeated sources', [['content-security-policy', `script-src ${huge("'self' ", 120_000)}`]]],
  ['a CSP of 50 000 directives', [['content-security-policy', huge("img-src 'self';", 50_000)]]],
  ['a CSP of commas (50 000 empty policies)', [['content-security-policy', huge(',', 50_000)]]],
  ['a Permissions-Policy with a huge inner list', [['permissions-policy', `camera=(${huge('self ', 100_000)}x`]]],
  ['a Permissions-Policy of nested parentheses', [['permissions-policy', huge('(', 100_000)]]],
  ['an HSTS header of 100 000 semicolons', [['strict-transport-security', huge(';', 100_000) + 'max-age=1']]],
  ['a Referrer-Policy of 100 000 tokens', [['referrer-policy', huge('unsafe-url,', 100_000)]]],
  ['a Set-Cookie of a megabyte', [['set-cookie', `sessionid=${huge('a', 1_000_000)}; Path=/`]]],
  ['a Server header of a megabyte with a version', [['server', `nginx/1.2.3 ${huge('x', 1_000_000)}`]]],
  ['control characters and non-ASCII in values', [['content-security-policy', "default-src 'self'\u0000\u0007 ☃; script-src \u00ff"], ['x-frame-options', 'DENY\u0000']]],
];

describe('header checks on hostile headers', () => {
  for (const [name, headers] of HOSTILE) {
    it(`finish and keep evidence short on ${name}`, () => {
      const f = facts(headers);
      for (const check of HEADER_CHECKS) {
        const out = check.run(f);
        for (const finding of out.findings) {
          for (const line of (finding.evidence ?? '').split('\n')) expect(line.length).toBeLessThan(1000);
        }
      }
    });
  }
});
