/** The exposure checks on constructed facts: pure functions from facts to findings. */
import { describe, expect, it } from 'vitest';
import { exposureKeysInClientCheck } from '../../../src/scan/checks/exposure-keys-in-client.js';
import type { ExposedSecret, ExposureFacts } from '../../../src/scan/exposure/facts.js';
import type { ScanFacts } from '../../../src/scan/types.js';

const page = 'https://shop.example.invalid/';
function facts(exposure: Partial<ExposureFacts>): ScanFacts {
  return {
    target: { input: page, url: page, host: 'shop.example.invalid' },
    final: { url: page, status: 200, headers: {}, rawHeaders: [], body: '', bodyTruncated: false, chain: [] },
    https: true,
    exposure: { files: [], secrets: [], browserAiCalls: [], sourceMaps: [], probes: [], directoryListings: [], debugPages: [], budget: { files: 0, bytes: 0, skipped: 0 }, ...exposure },
  };
}
const seen = (line: number): ExposedSecret => ({
  where: 'script', url: `${page}app.js`, line, column: 3, ruleId: 'openai-project-key', provider: 'OpenAI', title: 'OpenAI project API key', severity: 'critical',
  redacted: 'sk-proj-…abcd', fingerprint: 'sha256:00112233aabbccdd', revokeUrl: 'https://platform.openai.com/api-keys', context: 'k="sk-proj-…abcd"',
});

describe('keys-in-client-code check', () => {
  it('makes one finding per key however often it is seen, listing five places', () => {
    const out = exposureKeysInClientCheck.run(facts({ secrets: [1, 2, 3, 4, 5, 6, 7].map(seen) }));
    expect(out.findings).toHaveLength(1);
    expect(out.findings[0]!.evidence).toContain('app.js:5:3');
    expect(out.findings[0]!.evidence).toContain('… and 2 more places');
    expect(out.findings[0]!.evidence).not.toContain('app.js:6:3');
  });

  it('says when the gathering failed instead of reporting a clean site silently', () => {
    const out = exposureKeysInClientCheck.run(facts({ error: 'the site time bound is spent' }));
    expect(out.findings).toEqual([expect.objectContaining({ id: 'exposure-scan-failed', severity: 'info' })]);
    expect(out.findings[0]!.title).toContain('the site time bound is spent');
  });

  it('reports nothing on a clean gathering', () => {
    const out = exposureKeysInClientCheck.run(facts({}));
    expect(out.findings).toEqual([]);
    expect(out.tests['keys-in-client-code']).toMatchObject({ result: 'keys-in-client-code-none', pass: true });
  });
});
