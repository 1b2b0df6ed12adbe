import { describe, expect, it } from 'vitest';
import { firstBytes, lastBytes, withoutCutEnd, withoutCutStart } from './utf8-cuts.js';

describe('UTF-8 text cut where no character is split', () => {
  const text = Buffer.from('aé€😀b');
  it('keeps only whole characters at either end, whatever byte the cut falls on', () => {
    for (let n = 0; n <= text.length; n++) {
      expect(firstBytes(text, n).toString('utf8')).not.toContain('\uFFFD');
      expect(lastBytes(text, n).toString('utf8')).not.toContain('\uFFFD');
      expect(withoutCutEnd(text.subarray(0, n)).toString('utf8')).not.toContain('\uFFFD');
      expect(withoutCutStart(text.subarray(n)).toString('utf8')).not.toContain('\uFFFD');
    }
    expect(firstBytes(text, 4).toString()).toBe('aé');
    expect(lastBytes(text, 6).toString()).toBe('😀b');
  });
  it('drops a character cut at either end, and nothing else', () => {
    expect(withoutCutStart(text.subarray(2)).toString()).toBe('€😀b');
    expect(withoutCutStart(text.subarray(8)).toString()).toBe('b');
    expect(withoutCutStart(text).equals(text)).toBe(true);
    expect(withoutCutEnd(text.subarray(0, 2)).toString()).toBe('a');
    expect(withoutCutEnd(text.subarray(0, 8)).toString()).toBe('aé€');
    expect(withoutCutEnd(text.subarray(0, 9)).toString()).toBe('aé€');
    expect(withoutCutEnd(text).equals(text)).toBe(true);
    expect(withoutCutEnd(Buffer.alloc(0)).length).toBe(0);
    // Bytes that are no text at all are left as they are, for the check to take as binary.
    const binary = Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80]);
    expect(withoutCutEnd(binary).equals(binary)).toBe(true);
  });
});
