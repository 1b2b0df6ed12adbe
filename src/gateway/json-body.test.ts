import { describe, expect, it } from 'vitest';
import { jsonObject, withField, withMember } from './json-body.js';

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

describe('a field set on a JSON body', () => {
  it('is spliced in when the client sent no such key, and set over the client\'s when it did, even as null', () => {
    const parse = (b: Buffer) => JSON.parse(b.toString('utf8')) as Record<string, unknown>;
    const raw = Buffer.from('{"model":"m"}');
    expect(withField(raw, { model: 'm' }, 'cap', '5').toString()).toBe('{"cap":5,"model":"m"}');
    const nulled = Buffer.from('{"model":"m","cap":null}');
    expect(parse(withField(nulled, { model: 'm', cap: null }, 'cap', '5'))).toEqual({ model: 'm', cap: 5 });
    expect(parse(withField(Buffer.from('{"id":"x"}'), { id: 'x' }, 'id', '"y"'))).toEqual({ id: 'y' });
  });

  it('reads a JSON object, and nothing else', () => {
    expect(jsonObject(Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(jsonObject('[1]')).toBeUndefined();
    expect(jsonObject('null')).toBeUndefined();
    expect(jsonObject('<html>')).toBeUndefined();
  });
});
