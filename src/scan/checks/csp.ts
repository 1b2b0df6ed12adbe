/** Content-Security-Policy: header and <meta http-equiv>, parsed and enforced as CSP3 browsers do. */
import { RECOMMENDED_HEADERS } from '../../recommended-headers.js';
import type { Finding } from '../../finding.js';
import { collectPolicies, KNOWN_DIRECTIVES, type CspPolicy } from '../csp/parse.js';
import { combineEffects, evaluatePolicy, type PolicyEffect } from '../csp/evaluate.js';
import { testResult, type ResultId } from '../grade.js';
import type { Check, ScanFacts } from '../types.js';
import { clip, evidenceOf, finding, headerFix, headerValues, isHtml, MDN } from './support.js';

const DOCS = `${MDN}/Web/HTTP/CSP`;
const CSP = RECOMMENDED_HEADERS.contentSecurityPolicy;

/** The analysis the clickjacking check reuses (frame-ancestors) without re-parsing. */
export interface CspAnalysis {
  policies: CspPolicy[];
  enforced: CspPolicy[];
  effect?: PolicyEffect;
}

const analyses = new WeakMap<ScanFacts, CspAnalysis>();

/** Parsed once per scan: the CSP and clickjacking checks both read it. */
export function analyseCsp(facts: ScanFacts): CspAnalysis {
  let analysis = analyses.get(facts);
  if (!analysis) {
    analysis = analyse(facts);
    analyses.set(facts, analysis);
  }
  return analysis;
}

function analyse(facts: ScanFacts): CspAnalysis {
  const headers = facts.final.headers;
  const metas =
    facts.page && isHtml(facts.final)
      ? facts.page.metas.filter((m) => m.inHead && m.httpEquiv.trim().toLowerCase() === 'content-security-policy').map((m) => m.content)
      : [];
  const policies = collectPolicies({
    headers: headerValues(headers, 'content-security-policy'),
    metas,
    reportOnly: headerValues(headers, 'content-security-policy-report-only'),
  });
  // A policy with no directive a browser knows (empty, garbage, or only meta-ignored ones) enforces nothing.
  const enforced = policies.filter((p) => p.source !== 'report-only' && [...p.directives.keys()].some((d) => KNOWN_DIRECTIVES.has(d)));
  return enforced.length > 0 ? { policies, enforced, effect: combineEffects(enforced.map(evaluatePolicy)) } : { policies, enforced };
}

function fix(lead: string): string {
  return headerFix(CSP.name, CSP.value, lead);
}

function pickResult(e: PolicyEffect, https: boolean): ResultId {
  if (e.scriptInline || e.scriptData || e.scriptBroad || e.objectBroad) return 'csp-implemented-with-unsafe-inline';
  if (https && e.insecureActive) return 'csp-implemented-with-insecure-scheme';
  if (e.scriptEval || e.styleEval) return 'csp-implemented-with-unsafe-eval';
  if (https && e.insecurePassive) return 'csp-implemented-with-insecure-scheme-in-passive-content-only';
  if (e.styleUnsafe) return 'csp-implemented-with-unsafe-inline-in-style-src-only';
  if (e.defaultNone) return 'csp-implemented-with-no-unsafe-default-src-none';
  return 'csp-implemented-with-no-unsafe';
}

const PASSING: ReadonlySet<ResultId> = new Set<ResultId>([
  'csp-implemented-with-no-unsafe',
  'csp-implemented-with-no-unsafe-default-src-none',
  'csp-implemented-with-unsafe-inline-in-style-src-only',
  'csp-implemented-with-insecure-scheme-in-passive-content-only',
]);

export const cspCheck: Check = {
  name: 'content-security-policy',
  section: 'headers',
  run(facts) {
    const { policies, enforced, effect } = analyseCsp(facts);
    const url = facts.final.url;
    const evidence =
      evidenceOf(facts.final, 'content-security-policy', 'content-security-policy-report-only') ??
      (policies.length > 0 ? policies.map((p) => `<meta http-equiv="Content-Security-Policy" content="${clip(p.raw)}">`).join('\n') : undefined);
    const findings: Finding[] = [];
    const add = (id: string, severity: Finding['severity'], title: string, recommendation: string): void => {
      findings.push(finding(id, severity, title, recommendation, { docs: DOCS, url, ...(evidence ? { evidence } : {}) }));
    };
    // The parsed policies go into the report; a hostile policy must not make it huge.
    const data = {
      policies: policies.slice(0, 10).map((p) => ({ source: p.source, policy: Object.fromEntries([...p.directives].slice(0, 40).map(([d, v]) => [d, v.slice(0, 40)])) })),
    };

    for (const p of policies) {
      for (const d of new Set(p.duplicates)) {
        add('csp-duplicate-directive', 'low', `CSP directive ${d} appears more than once; browsers ignore every repeat`, `Merge the ${d} sources into one ${d} directive.`);
      }
      for (const d of p.ignored) {
        add('csp-directive-ignored-in-meta', d === 'frame-ancestors' ? 'medium' : 'low',
          `${d} in a <meta> Content-Security-Policy is ignored by browsers`,
          fix(`Browsers honour ${d} only in the Content-Security-Policy response header; send it there.`));
      }
      const unknown = [...p.directives.keys()].filter((d) => !KNOWN_DIRECTIVES.has(d));
      if (unknown.length > 0 || p.invalidNames.length > 0) {
        add('csp-unknown-directive', 'info', `CSP names directives browsers do not know: ${[...unknown, ...p.invalidNames].join(', ')}`,
          'Check the spelling; browsers skip unknown directives, so they protect nothing.');
      }
    }
    const metasOutsideHead = facts.page?.metas.filter((m) => !m.inHead && m.httpEquiv.trim().toLowerCase() === 'content-security-policy') ?? [];
    if (metasOutsideHead.length > 0) {
      add('csp-meta-outside-head', 'low', 'A <meta http-equiv="Content-Security-Policy"> outside <head> is ignored by browsers',
        fix('Move the tag into <head>, before any script, or better send the policy as a header.'));
    }

    if (!effect) {
      const reportOnly = policies.some((p) => p.source === 'report-only');
      // Something was sent but nothing in it can be enforced; a <meta> whose only directives
      // are ones <meta> cannot carry is simply no policy (its own finding says why).
      const garbage = policies.some((p) => p.source === 'header' || (p.source === 'meta' && p.ignored.length === 0));
      if (garbage) {
        add('csp-header-invalid', 'medium', 'The Content-Security-Policy has no directive a browser can enforce',
          fix('Write the policy as `directive source …; directive source …`.'));
        return { findings, tests: { 'content-security-policy': testResult('csp-header-invalid', false, data) } };
      }
      if (reportOnly) {
        add('csp-not-implemented-but-reporting-enabled', 'medium', 'Content-Security-Policy is only report-only: nothing is enforced',
          fix('Keep Content-Security-Policy-Report-Only while tuning, but also send an enforced Content-Security-Policy.'));
        return { findings, tests: { 'content-security-policy': testResult('csp-not-implemented-but-reporting-enabled', false, data) } };
      }
      add('csp-not-implemented', 'medium', 'No Content-Security-Policy: injected markup can run any script',
        fix('Start from this policy and allow only the origins the page needs.'));
      return { findings, tests: { 'content-security-policy': testResult('csp-not-implemented', false, data) } };
    }

    if (enforced.length > 1) {
      add('csp-several-policies', 'info', `${enforced.length} Content-Security-Policies are enforced at once; a load must pass every one`,
        'Several policies only ever restrict further; if that is not intended, merge them into one header.');
    }
    if (effect.scriptInline) {
      const unrestricted = !effect.scriptSources;
      add('csp-script-unsafe-inline', 'high',
        unrestricted ? 'CSP does not restrict scripts (no script-src or default-src)' : "CSP script-src allows 'unsafe-inline': injected inline scripts run",
        fix("Remove 'unsafe-inline' from script-src; use nonces or hashes (with 'strict-dynamic' for loaders) for the inline scripts you need."));
    }
    if (effect.scriptBroad && effect.scriptSources) {
      add('csp-script-broad-source', 'high', 'CSP script-src allows scripts from any host (a wildcard or a bare http:/https: scheme)',
        fix('List the exact origins scripts come from, or use nonces with \'strict-dynamic\'.'));
    }
    if (effect.scriptData && effect.scriptSources) {
      add('csp-script-data-source', 'high', 'CSP script-src allows data: URLs: an attacker can inline a whole script',
        fix('Remove data: from script-src.'));
    }
    if (effect.objectBroad) {
      add('csp-object-src-unrestricted', 'medium', 'CSP does not restrict plugins (object-src missing or broad)', fix("Send object-src 'none'."));
    }
    if (effect.objectData && effect.objectSources) {
      add('csp-object-src-data', 'medium', 'CSP object-src allows data: URLs: an attacker can embed plugin content inline', fix("Send object-src 'none'."));
    }
    if (effect.scriptEval || effect.styleEval) {
      add('csp-implemented-with-unsafe-eval', 'medium', "CSP allows 'unsafe-eval': strings can run as code",
        fix("Remove eval()/new Function() from the code, then remove 'unsafe-eval'."));
    }
    if (facts.https && effect.insecureActive) {
      add('csp-implemented-with-insecure-scheme', 'medium', 'CSP allows resources over plain http: on an HTTPS page',
        fix('Replace every http: source with https:.'));
    } else if (facts.https && effect.insecurePassive) {
      add('csp-implemented-with-insecure-scheme-in-passive-content-only', 'low', 'CSP allows images or media over plain http:',
        fix('Use https: for img-src and media-src sources.'));
    }
    if (effect.styleUnsafe) {
      add('csp-style-unsafe', 'info', "CSP style-src allows 'unsafe-inline', data: or any host", 'Lock style-src down once inline styles are gone; CSS injection can leak data.');
    }
    if (effect.baseUriUnrestricted) {
      add('csp-base-uri-missing', 'low', 'CSP does not set base-uri: an injected <base> re-points every relative script', fix("Add base-uri 'none' (or 'self')."));
    }
    if (effect.formActionUnrestricted) {
      add('csp-form-action-missing', 'low', 'CSP does not set form-action: injected forms can post anywhere', fix("Add form-action 'self'."));
    }
    if (effect.strictDynamicWithoutNonce) {
      add('csp-strict-dynamic-without-nonce', 'info', "CSP uses 'strict-dynamic' without a nonce or hash, so no script at all may run",
        "Add a per-response 'nonce-…' (and the same nonce on your <script> tags), or drop 'strict-dynamic'.");
    }

    let result = pickResult(effect, facts.https);
    const pass = PASSING.has(result);
    if (pass && effect.duplicateReportDirectives) result = 'csp-implemented-but-duplicate-directives';
    return { findings, tests: { 'content-security-policy': testResult(result, pass, data) } };
  },
};
