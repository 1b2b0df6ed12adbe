import { gzipSync } from 'node:zlib';
import { strToU8, zipSync, type Zippable } from 'fflate';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { fakeAnthropicKey, fakeOpenAiKey } from '../../../test/helpers/fake-keys.js';
import { contentContext, scanBytes } from './content.js';
import type { ArchiveLimits } from './limits.js';
import type { SourceMatch, SourceOptions } from './types.js';
import { newStats } from './types.js';
import { toSecretFinding } from './index.js';

async function scan(name: string, bytes: Uint8Array, options: SourceOptions = {}): Promise<SourceMatch[]> {
  const out: SourceMatch[] = [];
  for await (const m of scanBytes(name, bytes, contentContext(options))) out.push(m);
  return out;
}

async function tarOf(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  for (const [name, body] of Object.entries(files)) pack.entry({ name }, body);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A minimal dex file: header with the string table, each string length-prefixed (ULEB128) and NUL-terminated. */
function dexWith(strings: string[]): Uint8Array {
  const header = Buffer.alloc(0x70);
  header.write('dex\n035\0', 0, 'latin1');
  const idsOff = 0x70;
  const dataStart = idsOff + strings.length * 4;
  const data: Buffer[] = [];
  const ids = Buffer.alloc(strings.length * 4);
  let off = dataStart;
  strings.forEach((s, i) => {
    ids.writeUInt32LE(off, i * 4);
    const len = s.length < 128 ? Buffer.from([s.length]) : Buffer.from([(s.length & 0x7f) | 0x80, s.length >> 7]);
    const item = Buffer.concat([len, Buffer.from(s, 'utf8'), Buffer.from([0])]);
    data.push(item);
    off += item.length;
  });
  header.writeUInt32LE(strings.length, 0x38);
  header.writeUInt32LE(idsOff, 0x3c);
  return Buffer.concat([header, ids, ...data]);
}

/** A Mach-O-looking binary: magic, some bytes, then C strings. */
function machoWith(s: string): Uint8Array {
  return Buffer.concat([Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]), Buffer.alloc(64), Buffer.from(`${s}\0other_symbol\0`, 'latin1')]);
}

describe('archives and app bundles', () => {
  it('finds a key in a zip entry and names it archive!/entry with its line and column', async () => {
    const key = fakeOpenAiKey();
    const zip = zipSync({ 'config/app.properties': strToU8(`# settings\nopenai.key=${key}\n`), 'logo.png': new Uint8Array([0x89, 0x50, 0, 0, 1]) });
    const found = await scan('bundle.zip', zip);
    expect(found).toHaveLength(1);
    expect(found[0]!.file).toBe('bundle.zip!/config/app.properties');
    expect(found[0]!.match.line).toBe(2);
    expect(found[0]!.match.column).toBe(12);
  });

  it("reads an APK's classes.dex string table, where a key's length prefix would otherwise stick to it", async () => {
    const key = fakeAnthropicKey(); // 108 characters: its ULEB128 length byte is the letter 'l'
    const apk = zipSync({ 'AndroidManifest.xml': new Uint8Array([3, 0, 8, 0]), 'classes.dex': dexWith(['Lcom/example/Main;', key, 'https://api.anthropic.com']) });
    const found = await scan('app.apk', apk);
    expect(found.map((m) => m.file)).toEqual(['app.apk!/classes.dex']);
    expect(found[0]!.byteOffset).toBeGreaterThan(0x70);
    const f = toSecretFinding(found[0]!);
    expect(f.location?.line).toBeUndefined();
    expect(f.evidence).toContain('byte offset');
    expect(JSON.stringify(f)).not.toContain(key);
  });

  it("reads the string pools of an APK's resources.arsc (UTF-8) and binary AndroidManifest.xml (UTF-16)", async () => {
    const key = fakeAnthropicKey(); // 108 characters: its length prefix reads as the letter 'l'
    const name = 'com.google.android.geo.API_KEY';
    /** A ResStringPool chunk holding `strings`; UTF-8 or UTF-16 as Android writes them. */
    const pool = (strings: string[], utf8: boolean): Buffer => {
      const data = strings.map((t) =>
        utf8
          ? Buffer.concat([Buffer.from([t.length, t.length]), Buffer.from(t, 'utf8'), Buffer.from([0])])
          : Buffer.concat([Buffer.from([t.length, 0]), Buffer.from(t, 'utf16le'), Buffer.from([0, 0])]),
      );
      const header = Buffer.alloc(28);
      const offsets = Buffer.alloc(4 * strings.length);
      let off = 0;
      data.forEach((d, i) => {
        offsets.writeUInt32LE(off, 4 * i);
        off += d.length;
      });
      const size = 28 + offsets.length + off;
      header.writeUInt16LE(0x0001, 0);
      header.writeUInt16LE(28, 2);
      header.writeUInt32LE(size, 4);
      header.writeUInt32LE(strings.length, 8);
      header.writeUInt32LE(utf8 ? 0x100 : 0, 16);
      header.writeUInt32LE(28 + offsets.length, 20);
      return Buffer.concat([header, offsets, ...data]);
    };
    const chunked = (type: number, headerSize: number, body: Buffer): Buffer => {
      const h = Buffer.alloc(headerSize);
      h.writeUInt16LE(type, 0);
      h.writeUInt16LE(headerSize, 2);
      h.writeUInt32LE(headerSize + body.length, 4);
      return Buffer.concat([h, body]);
    };
    // Lengths chosen to be printable characters: read as runs, they would stick to the key.
    const arsc = chunked(0x0002, 12, pool(['res/layout/main.xml', key], true));
    const manifest = chunked(0x0003, 8, pool([name, 'value', key], false));
    const found = await scan('app.apk', zipSync({ 'resources.arsc': arsc, 'AndroidManifest.xml': manifest }));
    expect(found.map((m) => m.file).sort()).toEqual(['app.apk!/AndroidManifest.xml', 'app.apk!/resources.arsc']);
    for (const m of found) {
      const bytes = m.file.endsWith('arsc') ? arsc : manifest;
      const wide = m.file.endsWith('xml');
      expect(bytes.subarray(m.byteOffset!, m.byteOffset! + (wide ? 16 : 8)).toString(wide ? 'utf16le' : 'utf8')).toBe(key.slice(0, 8));
    }
  });

  it('reads the strings of a binary plist', async () => {
    const key = fakeOpenAiKey();
    const plist = Buffer.concat([Buffer.from('bplist00', 'latin1'), Buffer.from([0xd1, 0x01, 0x02, 0x5f, 0x10, key.length]), Buffer.from(key, 'latin1'), Buffer.alloc(32)]);
    expect((await scan('Info.plist', plist)).map((m) => m.byteOffset)).toEqual([14]);
  });

  it('reads the strings of a Mach-O binary inside an .ipa', async () => {
    const key = fakeOpenAiKey();
    const ipa = zipSync({ 'Payload/Demo.app/Demo': machoWith(key), 'Payload/Demo.app/Info.plist': strToU8('<plist/>') });
    const found = await scan('Demo.ipa', ipa);
    expect(found.map((m) => m.file)).toEqual(['Demo.ipa!/Payload/Demo.app/Demo']);
  });

  it('opens jar, aab and nested archives (a jar inside a zip)', async () => {
    const key = fakeOpenAiKey();
    const jar = zipSync({ 'META-INF/MANIFEST.MF': strToU8('Manifest-Version: 1.0\n'), 'app.conf': strToU8(`key = "${key}"`) });
    const outer = zipSync({ 'libs/inner.jar': jar } as Zippable);
    const found = await scan('release.aab', outer);
    expect(found.map((m) => m.file)).toEqual(['release.aab!/libs/inner.jar!/app.conf']);
  });

  it('opens tar and tgz archives, and a gzipped log', async () => {
    const key = fakeOpenAiKey();
    const t = await tarOf({ 'pkg/README.md': 'hello', 'pkg/.env': `OPENAI_API_KEY=${key}\n` });
    expect((await scan('src.tar', t)).map((m) => m.file)).toEqual(['src.tar!/pkg/.env']);
    expect((await scan('src.tgz', gzipSync(t))).map((m) => m.file)).toEqual(['src.tgz!/pkg/.env']);
    const log = gzipSync(Buffer.from(`line one\nAuthorization: Bearer ${key}\n`));
    const inLog = await scan('app.log.gz', log);
    expect(inLog.map((m) => [m.file, m.match.line])).toEqual([['app.log.gz', 2]]);
  });

  it('skips archives with --no-archives', async () => {
    const stats = newStats();
    const zip = zipSync({ 'a.txt': strToU8(fakeOpenAiKey()) });
    expect(await scan('a.zip', zip, { archives: false, stats })).toEqual([]);
    expect(stats.skipped['archives-off']).toBe(1);
  });

  it('ends a zip bomb (an entry expanding a thousand times) with a KW_ARCHIVE error', async () => {
    const bomb = zipSync({ 'zeros.txt': new Uint8Array(16 * 1024 * 1024) }, { level: 9 });
    expect(bomb.length).toBeLessThan(64 * 1024);
    await expect(scan('bomb.zip', bomb)).rejects.toMatchObject({ code: 'KW_ARCHIVE', message: expect.stringMatching(/zip bomb/) });
  });

  it('ends an archive that expands past the total limit, and one with too many entries', async () => {
    const files: Zippable = {};
    for (let i = 0; i < 20; i++) files[`f${i}.txt`] = strToU8(`${i}`.repeat(100 * 1024));
    const zip = zipSync(files, { level: 0 });
    const limits: Partial<ArchiveLimits> = { maxTotalBytes: 1024 * 1024 };
    await expect(scan('big.zip', zip, { limits })).rejects.toMatchObject({ code: 'KW_ARCHIVE', message: expect.stringMatching(/more than 1 MiB/) });
    await expect(scan('many.zip', zip, { limits: { maxEntries: 10 } })).rejects.toMatchObject({ code: 'KW_ARCHIVE', message: expect.stringMatching(/more than 10 entries/) });
  });

  it('ends a gzip bomb inside a tgz', async () => {
    const t = await tarOf({ 'zeros.bin': Buffer.alloc(32 * 1024 * 1024) });
    await expect(scan('bomb.tgz', gzipSync(t, { level: 9 }))).rejects.toMatchObject({ code: 'KW_ARCHIVE' });
  });

  it('ends a zip nested deeper than the limit', async () => {
    let z: Uint8Array = strToU8('x');
    for (let i = 0; i < 8; i++) z = zipSync({ [`level${i}.zip`]: z } as Zippable);
    await expect(scan('deep.zip', z)).rejects.toMatchObject({ code: 'KW_ARCHIVE', message: expect.stringMatching(/nested/) });
  });

  it('skips a damaged archive with the reason and goes on, inside another archive too', async () => {
    const key = fakeOpenAiKey();
    const zip = zipSync({ 'a.txt': strToU8('hello') });
    const cut = zip.subarray(0, zip.length - 30);
    const skipped: string[] = [];
    const stats = newStats();
    expect(await scan('cut.zip', cut, { stats, onSkip: (f, r, d) => skipped.push(`${f} ${r}: ${d}`) })).toEqual([]);
    expect(skipped).toEqual([expect.stringMatching(/^cut\.zip damaged-archive: not a readable zip archive/)]);
    expect(stats.skipped['damaged-archive']).toBe(1);
    const outer = zipSync({ 'inner.zip': cut, 'after.env': strToU8(`K=${key}\n`) } as Zippable);
    expect((await scan('outer.zip', outer)).map((m) => m.file)).toEqual(['outer.zip!/after.env']);
    const badGzip = Buffer.concat([gzipSync(Buffer.from('x'.repeat(1000))).subarray(0, 20)]);
    expect(await scan('truncated.log.gz', badGzip, { onSkip: (f, r) => skipped.push(`${f} ${r}`) })).toEqual([]);
    expect(skipped.at(-1)).toBe('truncated.log.gz damaged-archive');
  });

  it('skips one entry whose compressed data is damaged and scans the others', async () => {
    const key = fakeOpenAiKey();
    const filler = Array.from({ length: 2000 }, (_, i) => `line ${i} of a log that compresses`).join('\n');
    const zip = Buffer.from(zipSync({ 'broken.log': strToU8(filler), 'good.env': strToU8(`K=${key}\n`) }));
    // The first entry's deflate stream starts right after its 30-byte local header and name.
    const dataStart = 30 + 'broken.log'.length;
    for (let i = dataStart; i < dataStart + 40; i++) zip[i] = 0xff;
    const skipped: string[] = [];
    const found = await scan('app.zip', zip, { onSkip: (f, r, d) => skipped.push(`${f} ${r} ${d}`) });
    expect(found.map((m) => m.file)).toEqual(['app.zip!/good.env']);
    expect(skipped).toEqual([expect.stringMatching(/^app\.zip!\/broken\.log unsupported-compression cannot be expanded/)]);
  });

  it('keeps a text file holding "ustar" at offset 257 as text (a tar header needs its checksum)', async () => {
    const key = fakeOpenAiKey();
    const text = `${'/'.repeat(257)}ustar is the magic of tar headers\nconst k = '${key}';\n`;
    expect((await scan('headers.js', strToU8(text))).map((m) => m.match.line)).toEqual([2]);
  });
});
