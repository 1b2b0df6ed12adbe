/** The leaf certificate's validity period, judged at the moment of the handshake; expiry within 30 days warns. */
import type { Check, CheckOutput } from '../types.js';
import { FIX, NOTHING, targetOf, TLS_DOCS, tlsFinding, tlsTest, usableTls } from './tls-support.js';

const DAY_MS = 24 * 60 * 60 * 1000;
export const EXPIRY_WARNING_DAYS = 30;

export const tlsCertificateValidityCheck: Check = {
  name: 'tls-certificate-validity',
  section: 'tls',
  run(facts): CheckOutput {
    const tls = usableTls(facts);
    const leaf = tls?.chain[0];
    if (!tls || !leaf) return NOTHING;
    const url = targetOf(tls);
    const now = Date.parse(tls.checkedAt);
    const notBefore = Date.parse(leaf.notBefore);
    const notAfter = Date.parse(leaf.notAfter);
    const daysLeft = Math.floor((notAfter - now) / DAY_MS);
    const data = { notBefore: leaf.notBefore, notAfter: leaf.notAfter, daysLeft };
    const evidence = `valid from ${leaf.notBefore} to ${leaf.notAfter} (checked ${tls.checkedAt})`;
    const extra = { url, evidence, docs: TLS_DOCS.certbot };
    if (now > notAfter) {
      return {
        findings: [tlsFinding('tls-certificate-expired', 'critical', `The certificate expired ${-daysLeft} day(s) ago: browsers block the site`, FIX.renew(tls.host), extra)],
        tests: { 'tls-certificate-validity': tlsTest('tls-certificate-expired', false, data) },
      };
    }
    if (now < notBefore) {
      return {
        findings: [
          tlsFinding('tls-certificate-not-yet-valid', 'critical', 'The certificate is not valid yet: browsers block the site (or the server clock is wrong)', FIX.renew(tls.host), extra),
        ],
        tests: { 'tls-certificate-validity': tlsTest('tls-certificate-not-yet-valid', false, data) },
      };
    }
    if (daysLeft <= EXPIRY_WARNING_DAYS) {
      return {
        findings: [tlsFinding('tls-certificate-expiring-soon', 'medium', `The certificate expires in ${daysLeft} day(s)`, FIX.renew(tls.host), extra)],
        tests: { 'tls-certificate-validity': tlsTest('tls-certificate-expiring-soon', true, data) },
      };
    }
    return { findings: [], tests: { 'tls-certificate-validity': tlsTest('tls-certificate-valid', true, data) } };
  },
};
