/** What the user typed, turned into what the scan fetches first (a bare host → https). */
import { KeywardError } from '../errors.js';
import { parseHttpUrl } from './fetch/bounded-fetch.js';
import type { ScanTarget } from './types.js';

export interface ParsedTarget extends ScanTarget {
  /** True when the input had no scheme: https is tried first, then http. */
  bare: boolean;
}

export function parseTarget(input: string): ParsedTarget {
  const text = input.trim();
  const bad = (why: string) =>
    new KeywardError('KW_BAD_URL', `cannot scan ${JSON.stringify(input.length > 120 ? input.slice(0, 117) + '...' : input)}: ${why}`, {
      hint: 'give a URL like https://example.com/ or a bare host name like example.com',
    });
  if (text === '') throw bad('it is empty');
  if (/\s/.test(text)) throw bad('it contains spaces');
  const hasScheme = /^[a-z][a-z0-9+.-]*:/i.test(text) && !/^[^:/]+:\d+(\/|$)/.test(text);
  const url = parseHttpUrl(hasScheme ? text : `https://${text}`);
  if (url.hostname === '') throw bad('it has no host name');
  if (url.username || url.password) throw bad('it contains credentials; a scan never sends them');
  url.hash = '';
  return { input, url: url.href, host: url.hostname.replace(/^\[|\]$/g, ''), bare: !hasScheme };
}
