import { describe, expect, it } from 'vitest';
import { withMember } from './json-body.js';

describe('a member added first to a JSON body', () => {
  it('goes after the opening brace, before the members there, in an empty object without a stray comma', () => {
    const parse = (b: Buffer) => JSON.parse(b.toString('utf8')) as unknown;
    expect(parse(withMember(Buffer.from('{"model":"m"}'), '"a":1'))).toEqual({ a: 1, model: 'm' });
    expect(withMember(Buffer.from('{"model":"m"}'), '"a":1').toString()).toBe('{"a":1,"model":"m"}');
    expect(parse(withMember(Buffer.from('{}'), '"a":1'))).toEqual({ a: 1 });
    expect(parse(withMember(Buffer.from(' { \n\t} '), '"a":{"b":2}'))).toEqual({ a: { b: 2 } });
    expect(parse(withMember(Buffer.from('{}'), Buffer.from('{"a":true,')))).toEqual({ a: true });
  });
});
