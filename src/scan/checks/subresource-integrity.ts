/**
 * Subresource Integrity: scripts (scored, as the Observatory does) and stylesheets (reported)
 * loaded from another site must carry an `integrity` hash, or that site's compromise is yours.
 */
import type { Finding } from '../../finding.js';
import { SCORE_MODIFIERS, testResult, type ResultId } from '../grade.js';
import { sameSiteHosts as sameSite } from '../same-site.js';
import type { Check, CheckOutput } from '../types.js';
import { finding, isHtml, MDN } from './support.js';

const DOCS = `${MDN}/Web/Security/Subresource_Integrity`;
const HOW = [
  'Pin the exact file with its hash, and load it with CORS:',
  '  <script src="https://cdn.example.com/lib.js" integrity="sha384-…" crossorigin="anonymous"></script>',
  'Compute the hash: curl -s https://cdn.example.com/lib.js | openssl dgst -sha384 -binary | openssl base64 -A',
  'Or serve the file from your own origin.',
].join('\n');

function resolve(src: string, base: string): URL | undefined {
  try {
    return new URL(src, base);
  } catch {
    return undefined;
  }
}

const ABSOLUTE = /^[a-z][a-z0-9+.-]*:|^\/\//i;

export const subresourceIntegrityCheck: Check = {
  name: 'subresource-integrity',
  section: 'headers',
  run(facts): CheckOutput {
    const findings: Finding[] = [];
    const done = (result: ResultId, pass: boolean, data?: Record<string, unknown>): CheckOutput => ({
      findings,
      tests: { 'subresource-integrity': testResult(result, pass, data) },
    });
    if (!isHtml(facts.final)) return done('sri-not-implemented-response-not-html', true);
    const page = facts.page;
    const pageUrl = facts.final.url;
    const pageHost = new URL(pageUrl).hostname;
    const scripts = page?.scripts ?? [];
    if (scripts.length === 0 && (page?.links.length ?? 0) === 0) return done('sri-not-implemented-but-no-scripts-loaded', true);

    let result: ResultId | undefined;
    const worse = (r: ResultId): void => {
      if (result === undefined || SCORE_MODIFIERS[r] < SCORE_MODIFIERS[result]) result = r;
    };
    let foreignSeen = false;
    const missing: string[] = [];
    const insecure: string[] = [];
    const noCors: string[] = [];
    for (const s of scripts) {
      if (s.src === undefined || s.src.trim() === '') continue;
      const url = resolve(s.src.trim(), pageUrl);
      if (!url) continue;
      const relative = !ABSOLUTE.test(s.src.trim());
      const foreign = !relative && !sameSite(url.hostname, pageHost);
      const secure = url.protocol === 'https:';
      const integrity = (s.integrity ?? '').trim() !== '';
      if (foreign) {
        foreignSeen = true;
        if (integrity && !secure) worse('sri-implemented-but-external-scripts-not-loaded-securely');
        else if (!integrity && secure) worse('sri-not-implemented-but-external-scripts-loaded-securely');
        else if (!integrity) worse('sri-not-implemented-and-external-scripts-not-loaded-securely');
        if (!integrity) missing.push(url.href);
        if (!secure) insecure.push(url.href);
        if (integrity && s.crossorigin === undefined) noCors.push(url.href);
      } else if (integrity && secure && result === undefined) {
        result = 'sri-implemented-and-all-scripts-loaded-securely';
      }
    }
    if (missing.length > 0) {
      findings.push(finding('sri-script-missing', insecure.length > 0 ? 'high' : 'medium',
        `${missing.length} script${missing.length > 1 ? 's' : ''} from another site load${missing.length > 1 ? '' : 's'} without integrity: if that site is compromised, so is yours`,
        HOW, { docs: DOCS, url: pageUrl, evidence: missing.slice(0, 10).join('\n') }));
    }
    if (insecure.length > 0) {
      findings.push(finding('sri-script-over-http', 'high', 'Scripts from another site load over plain http: anyone on the network can replace them',
        'Load them over https:// (with integrity).', { docs: DOCS, url: pageUrl, evidence: insecure.slice(0, 10).join('\n') }));
    }
    if (noCors.length > 0) {
      findings.push(finding('sri-without-crossorigin', 'low', 'Cross-origin scripts have integrity but no crossorigin attribute, so browsers cannot check them and block them',
        'Add crossorigin="anonymous" next to integrity.', { docs: DOCS, url: pageUrl, evidence: noCors.slice(0, 10).join('\n') }));
    }
    const styles = (page?.links ?? [])
      .filter((l) => l.rel.split(/\s+/).includes('stylesheet'))
      .map((l) => ({ l, url: resolve(l.href.trim(), pageUrl) }))
      .filter(({ l, url }) => url && ABSOLUTE.test(l.href.trim()) && !sameSite(url.hostname, pageHost) && (l.integrity ?? '').trim() === '');
    if (styles.length > 0) {
      findings.push(finding('sri-stylesheet-missing', 'low', 'Stylesheets from another site load without integrity: injected CSS can read and leak page content',
        HOW.replace('<script src="https://cdn.example.com/lib.js"', '<link rel="stylesheet" href="https://cdn.example.com/lib.css"').replace('></script>', '>'),
        { docs: DOCS, url: pageUrl, evidence: styles.slice(0, 10).map(({ url }) => url!.href).join('\n') }));
    }

    if (scripts.length === 0) return done('sri-not-implemented-but-no-scripts-loaded', true);
    const final: ResultId =
      result ?? (foreignSeen ? 'sri-implemented-and-external-scripts-loaded-securely' : 'sri-not-implemented-but-all-scripts-loaded-from-secure-origin');
    const pass = SCORE_MODIFIERS[final] >= 0;
    return done(final, pass, { missing: missing.slice(0, 20) });
  },
};
