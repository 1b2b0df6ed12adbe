import { describe, expect, it } from 'vitest';
import { combineEffects, evaluatePolicy } from './evaluate.js';
import { collectPolicies, parsePolicy, parsePolicyList } from './parse.js';

describe('CSP3 parsing', () => {
  it('lower-cases directive names and keywords but keeps nonce case', () => {
    const p = parsePolicy("SCRIPT-SRC 'SELF' 'nonce-AbC'", 'header');
    expect(p.directives.get('script-src')).toEqual(["'self'", "'nonce-AbC'"]);
  });

  it('keeps the first of a repeated directive and records the repeat', () => {
    const p = parsePolicy("script-src 'self'; script-src *", 'header');
    expect(p.directives.get('script-src')).toEqual(["'self'"]);
    expect(p.duplicates).toEqual(['script-src']);
  });

  it('splits a header value into policies at commas', () => {
    expect(parsePolicyList("default-src 'self', script-src 'none'", 'header')).toHaveLength(2);
  });

  it('reads a <meta> policy as one policy and drops what <meta> cannot carry', () => {
    const [p] = collectPolicies({ headers: [], metas: ["default-src 'self'; frame-ancestors 'none'; sandbox"], reportOnly: [] });
    expect(p?.directives.has('frame-ancestors')).toBe(false);
    expect(p?.ignored).toEqual(['frame-ancestors', 'sandbox']);
  });

  it('skips tokens that cannot be directive names', () => {
    const p = parsePolicy("default-src 'self'; sc@ript x", 'header');
    expect(p.invalidNames).toEqual(['sc@ript']);
  });

  it('treats an empty source list as none', () => {
    const e = evaluatePolicy(parsePolicy('script-src; object-src', 'header'));
    expect(e.scriptInline).toBe(false);
    expect(e.objectNotNone).toBe(false);
  });

  it("drops hosts, schemes and 'self' under 'strict-dynamic'", () => {
    const e = evaluatePolicy(parsePolicy("script-src 'nonce-x' 'strict-dynamic' 'self' https: http://a.example", 'header'));
    expect(e.scriptSources).toEqual(["'nonce-x'", "'strict-dynamic'"]);
    expect(e.scriptBroad).toBe(false);
    expect(e.insecureActive).toBe(false);
  });

  it('allows a risk only when every enforced policy allows it', () => {
    const loose = evaluatePolicy(parsePolicy("script-src * 'unsafe-inline' 'unsafe-eval'", 'header'));
    const strict = evaluatePolicy(parsePolicy("script-src 'self'", 'header'));
    const both = combineEffects([loose, strict]);
    expect(both.scriptInline).toBe(false);
    expect(both.scriptEval).toBe(false);
    expect(both.scriptBroad).toBe(false);
    expect(combineEffects([loose]).scriptInline).toBe(true);
  });

  it('applies frame-ancestors only from header policies', () => {
    const meta = evaluatePolicy(parsePolicy("frame-ancestors 'none'", 'meta'));
    expect(meta.frameAncestors).toBeUndefined();
    const header = evaluatePolicy(parsePolicy("frame-ancestors 'self'", 'header'));
    expect(header.frameAncestors).toEqual(["'self'"]);
  });
});
