import { createRequire } from 'node:module';
import type * as Tldts from 'tldts';

/**
 * The public suffix list (tldts, ~190 KB) is loaded on the first pair of different hosts only:
 * most pages load their scripts from their own host, and evaluating the list costs ~15 ms of every
 * cold `keyward scan`. Callers are synchronous, hence require rather than import().
 */
let getDomain: typeof Tldts.getDomain | undefined;

/** Same site: same registrable domain, or the same host when there is none (IPs, localhost). */
export function sameSiteHosts(a: string, b: string): boolean {
  if (a.toLowerCase() === b.toLowerCase()) return true;
  getDomain ??= (createRequire(import.meta.url)('tldts') as typeof Tldts).getDomain;
  const da = getDomain(a);
  return da !== null && da === getDomain(b);
}
