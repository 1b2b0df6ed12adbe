import { describe, expect, it } from 'vitest';
import { literalSpansAt } from './js-literals.js';

/** The literal text holding the first occurrence of `marker`, or 'code'. */
function holder(code: string, marker: string): string {
  const [span] = literalSpansAt(code, [code.indexOf(marker)]);
  return span ? code.slice(span.start, span.end) : 'code';
}

describe('literalSpansAt', () => {
  it('finds double, single and template literals, and code between them', () => {
    const code = `a("one X");b='two Y';c=\`three Z\`;W()`;
    expect(holder(code, 'X')).toBe('"one X"');
    expect(holder(code, 'Y')).toBe("'two Y'");
    expect(holder(code, 'Z')).toBe('`three Z`');
    expect(holder(code, 'W')).toBe('code');
  });

  it('follows escapes, comments and regular expression literals without losing its place', () => {
    const code = `s="a\\"b";/* "not a string */ r=/["'\`]+/g; x=4/2; // it's a comment\nMARK()`;
    expect(holder(code, 'MARK')).toBe('code');
    expect(holder(code, 'b"')).toBe('"a\\"b"');
  });

  it('treats a template substitution as code and the text after it as the template again', () => {
    const code = 'const t=`head ${ {k:"IN"}.k + CODE } TAIL`;';
    expect(holder(code, 'IN')).toBe('"IN"');
    expect(holder(code, 'CODE')).toBe('code');
    expect(holder(code, 'TAIL')).toBe('} TAIL`');
  });

  it('knows a regular expression after return from a division', () => {
    expect(holder('function f(){return /"/.test(s)}g("IN")', 'IN')).toBe('"IN"');
    expect(holder('x = a / b; y = "IN" / 2', 'IN')).toBe('"IN"');
  });
});
