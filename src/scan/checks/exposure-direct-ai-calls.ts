/**
 * Direct browser calls to AI provider APIs, critical even when no key is visible: whatever
 * credential such a call uses is in the browser, so anyone can copy it.
 */
import type { Finding } from '../../finding.js';
import type { BrowserAiCall } from '../exposure/facts.js';
import { exposureResult } from '../exposure/grade.js';
import type { Check, CheckOutput } from '../types.js';
import { EXPOSURE_DOCS, whereSeen } from './exposure-support.js';

const FIX = [
  'Never call an AI provider from the browser: the credential it sends is readable by every visitor.',
  'Run `keyward gateway` (or your own backend route) and call it from the client; the gateway holds the provider key, authenticates your users and enforces rate limits and budgets.',
  'Remove dangerouslyAllowBrowser and any provider key from the client build, and revoke and rotate any key that was ever shipped to browsers.',
].join('\n');

function title(c: BrowserAiCall): string {
  switch (c.kind) {
    case 'provider-call-with-credential':
      return `The browser calls the ${c.provider} API (${c.host}) directly with a credential built in client code`;
    case 'dangerously-allow-browser':
      return 'An AI SDK runs in the browser with dangerouslyAllowBrowser: true (its key is in the page)';
    case 'anthropic-direct-browser-access':
      return 'The client sends anthropic-dangerous-direct-browser-access: the Anthropic API is called from the browser';
    case 'public-env-key-value':
      return `A ${c.provider ? `${c.provider} ` : ''}credential is inlined in the bundle under the public env name ${c.envName}`;
    case 'public-env-key-reference':
      return `Client code reads a credential from the public env name ${c.envName}`;
  }
}

export const exposureDirectAiCallsCheck: Check = {
  name: 'direct-ai-calls',
  section: 'exposure',
  run(facts): CheckOutput {
    const exposure = facts.exposure;
    const secrets = exposure?.secrets ?? [];
    // A public-env value that the secrets engine already reported as a key is one problem, not two.
    const calls = (exposure?.browserAiCalls ?? []).filter(
      (c) =>
        !(c.kind === 'public-env-key-value' &&
          secrets.some((s) => s.url === c.url && s.source === c.source && s.line === c.line && s.column >= c.column && s.column < c.column + c.length)),
    );
    const groups = new Map<string, BrowserAiCall[]>();
    for (const c of calls) {
      const key = `${c.kind}|${c.provider ?? ''}|${c.envName ?? ''}`;
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    const findings: Finding[] = [...groups.values()].map((group) => {
      const first = group[0]!;
      const seen = group.slice(0, 5).map((c) => `at ${whereSeen(c)}`);
      if (group.length > 5) seen.push(`… and ${group.length - 5} more places`);
      return {
        id: `direct-ai-call-${first.kind}`,
        severity: first.kind === 'public-env-key-reference' ? 'high' : 'critical',
        title: title(first),
        evidence: [first.evidence, ...seen].join('\n'),
        recommendation: FIX,
        docs: `${EXPOSURE_DOCS}#direct-ai-calls`,
        section: 'exposure',
        location: { url: first.url, line: first.line, column: first.column, ...(first.source !== undefined ? { file: first.source } : {}) },
      };
    });
    return {
      findings,
      tests: {
        'direct-ai-calls': findings.length > 0
          ? exposureResult('direct-ai-calls-found', false, { kinds: [...new Set(calls.map((c) => c.kind))] })
          : exposureResult('direct-ai-calls-none', true),
      },
    };
  },
};
