import { describe, expect, it } from 'vitest';
import { allRuns, printableRuns, utf16Runs } from './strings.js';

describe('strings of binaries', () => {
  it('keeps ASCII runs of 6 or more with their offsets, including one that ends the file', () => {
    const bytes = Buffer.concat([Buffer.from([0, 1]), Buffer.from('short'), Buffer.from([0]), Buffer.from('long enough'), Buffer.from([0xff]), Buffer.from('at the end')]);
    expect(printableRuns(bytes)).toEqual({ text: 'long enough\nat the end', offsets: [8, 20] });
  });

  it('reads a UTF-16 run of any length (300,000 characters) at either alignment', () => {
    const long = Buffer.concat([Buffer.from([7]), Buffer.from('x'.repeat(300_000), 'utf16le'), Buffer.from([0xff, 0xff])]);
    const runs = utf16Runs(long);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.start).toBe(1);
    expect(runs[0]!.text.length).toBe(300_000);
  });

  it('merges ASCII and UTF-16 runs in file order, with the stride of each', () => {
    const bytes = Buffer.concat([Buffer.from('wide string', 'utf16le'), Buffer.from([0xff, 0xfe]), Buffer.from('narrow string')]);
    const s = allRuns(bytes);
    expect(s.text).toBe('wide string\nnarrow string');
    expect(s.offsets).toEqual([0, 24]);
    expect(s.strides).toEqual([2, 1]);
  });
});
