import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BaselineError, isBaselined, loadBaseline, parseBaseline } from './index.js';

const fp = (n: number) => 'sha256:' + n.toString(16).padStart(16, '0');

describe('baselines', () => {
  it('reads fingerprints from a keyward JSON report, a JSON list and a plain list', () => {
    expect([...parseBaseline(JSON.stringify({ schema: 'keyward.secrets/1', findings: [{ fingerprint: fp(1) }, { secret: { fingerprint: fp(2) } }] }))]).toEqual([fp(1), fp(2)]);
    expect([...parseBaseline(JSON.stringify([fp(3), { fingerprint: fp(4) }]))]).toEqual([fp(3), fp(4)]);
    expect([...parseBaseline(`# accepted\n${fp(5)}\n\n${fp(6)}  # test fixture\n`)]).toEqual([fp(5), fp(6)]);
  });

  it('refuses a malformed baseline with a clear error and a hint', () => {
    expect(() => parseBaseline('{ not json', 'b.json')).toThrow(BaselineError);
    expect(() => parseBaseline('sk-proj-oops\n', 'b.txt')).toThrow(/b\.txt line 1 is not a fingerprint/);
    try {
      parseBaseline('nope');
    } catch (e) {
      expect((e as BaselineError).code).toBe('KW_BAD_CONFIG');
      expect((e as BaselineError).hint).toMatch(/sha256:/);
    }
  });

  it('loads a file and tells a baselined match from a new one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kw-baseline-'));
    const file = join(dir, 'baseline.txt');
    writeFileSync(file, fp(7) + '\n');
    const b = loadBaseline(file);
    expect(isBaselined({ fingerprint: fp(7) }, b)).toBe(true);
    expect(isBaselined({ fingerprint: fp(8) }, b)).toBe(false);
    expect(() => loadBaseline(join(dir, 'missing.txt'))).toThrow(/cannot read baseline .*ENOENT/);
  });
});
