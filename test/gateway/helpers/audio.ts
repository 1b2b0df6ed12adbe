/** Audio for the gateway's audio tests: WAV files of a given length, built at run time. */

/** A WAV file of silence, `seconds` long (16-bit mono PCM). */
export function wav(seconds: number, rate = 16_000): Buffer {
  const data = Buffer.alloc(Math.round(rate * seconds) * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** How long a WAV file plays, from its header (as the provider would know); undefined for anything else. */
export function wavSeconds(b: Buffer): number | undefined {
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') return undefined;
  return b.readUInt32LE(40) / b.readUInt32LE(28);
}
