/**
 * HSTS together with the redirect, as SSL Labs reads them for A+: the HTTPS page sends
 * Strict-Transport-Security with max-age of 180 days or more, and plain HTTP redirects to HTTPS.
 * The headers section reports the header's and the redirect's own problems; this check only
 * feeds the TLS grade (A+ or not) and reports no findings of its own.
 */
import type { Check, CheckOutput } from '../types.js';
import { effectiveHsts, SIX_MONTHS } from './hsts.js';
import { NOTHING, tlsTest, usableTls } from './tls-support.js';

export const tlsHstsCheck: Check = {
  name: 'tls-hsts',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    if (!tls) return NOTHING;
    const hsts = effectiveHsts(facts);
    const httpFinal = facts.http?.finalUrl;
    const redirectsToHttps = facts.http === undefined ? undefined : !!httpFinal && httpFinal.startsWith('https:');
    const data = { maxAge: hsts?.maxAge ?? null, includeSubDomains: hsts?.includeSubDomains ?? false, redirectsToHttps: redirectsToHttps ?? null };
    if (hsts && hsts.maxAge >= SIX_MONTHS) {
      // The headers section's redirection test reports the missing redirect; here it only withholds the A+.
      if (redirectsToHttps === false) return { findings: [], tests: { 'tls-hsts': tlsTest('tls-hsts-without-redirect', false, data) } };
      return { findings: [], tests: { 'tls-hsts': tlsTest('tls-hsts-long', true, data) } };
    }
    return { findings: [], tests: { 'tls-hsts': tlsTest(hsts ? 'tls-hsts-short' : 'tls-hsts-missing', false, data) } };
  },
};
