import { describe, expect, it } from 'vitest';
import { emptyArrayWithin, usageObjectAt } from './usage-search.js';

describe('usageObjectAt', () => {
  it('finds a usage key whose value is an object, compact or spaced, at or after `from`', () => {
    expect(usageObjectAt('{"usage":{"a":1}}', 0)).toBe(1);
    expect(usageObjectAt('{"usage" : {"a":1}}', 0)).toBe(1);
    expect(usageObjectAt('{"usage": {"a":1}}', 0)).toBe(1);
    const two = '{"usage":{"a":1}} {"usage":{"b":2}}';
    expect(usageObjectAt(two, 2)).toBe(two.lastIndexOf('"usage"'));
    expect(usageObjectAt(two, 1)).toBe(1);
  });

  it('skips a null usage, a longer key and the word inside a string', () => {
    const text = JSON.stringify({ usage: null, prompt_usage: { a: 1 }, content: 'the "usage":{ word', x: 'usage":{' });
    expect(usageObjectAt(text, 0)).toBe(-1);
    expect(usageObjectAt(`${text}\n{"usage":{}}`, 0)).toBe(text.length + 2);
  });
});

describe('emptyArrayWithin', () => {
  it('finds "key": [] inside the range only', () => {
    const text = 'data: {"choices":[]}\n\ndata: {"choices": [ ]}\n\ndata: {"choices":[{"i":0}]}\n\n';
    const second = text.indexOf('data:', 1);
    const third = text.indexOf('data:', second + 1);
    expect(emptyArrayWithin(text, 'choices', 0, second)).toBe(true);
    expect(emptyArrayWithin(text, 'choices', second, third)).toBe(true);
    expect(emptyArrayWithin(text, 'choices', third, text.length)).toBe(false);
    expect(emptyArrayWithin('{"mychoices":[]}', 'choices', 0, 99)).toBe(false);
    expect(emptyArrayWithin('{"choices":[]}', 'choices', 0, 5)).toBe(false);
  });
});
