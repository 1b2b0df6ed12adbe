import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fakeOpenAiKey } from '../../../test/helpers/fake-keys.js';
import { newStats, scanPaths, type ScanPathsOptions, type SkipReason, type SourceMatch } from './index.js';

let root: string;

async function scan(paths: string[], options: ScanPathsOptions = {}): Promise<SourceMatch[]> {
  const out: SourceMatch[] = [];
  for await (const m of scanPaths(paths, options)) out.push(m);
  return out;
}

async function* chunks(...parts: (string | Buffer)[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kw-paths-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('scanPaths', () => {
  it('names files relative to the folder given, and honours .gitignore unless told not to', async () => {
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'a.ts'), `export const k = '${fakeOpenAiKey()}';\n`);
    writeFileSync(join(root, '.gitignore'), 'secret.txt\n');
    writeFileSync(join(root, 'secret.txt'), fakeOpenAiKey());
    expect((await scan([root])).map((m) => m.file)).toEqual([join(root, 'src/a.ts')]);
    expect((await scan([root], { gitignore: false })).map((m) => m.file).sort()).toEqual([join(root, 'secret.txt'), join(root, 'src/a.ts')]);
  });

  it('reads stdin for -, streamed, with exact lines across chunk edges', async () => {
    const key = fakeOpenAiKey();
    const text = `first\nsecond line has ${key} in it\n`;
    const cut = text.indexOf(key) + 10; // split the key itself between two chunks
    const stats = newStats();
    const found = await scan(['-'], { stats, stdin: chunks(text.slice(0, cut), text.slice(cut)) });
    expect(found.map((m) => [m.file, m.match.line, m.match.column])).toEqual([['-', 2, 17]]);
    expect(stats.bytes).toBe(Buffer.byteLength(text));
  });

  it('streams a file larger than 8 MiB and finds the key placed at every 1 MiB chunk edge', async () => {
    const filler = 'INFO request served in 12ms path=/api/v1/items status=200\n';
    const lines: string[] = [];
    const keysAt: number[] = [];
    let size = 0;
    while (size < 9 * 1024 * 1024) {
      const near = Math.floor(size / (1024 * 1024)) !== Math.floor((size + filler.length) / (1024 * 1024));
      if (near) {
        keysAt.push(lines.length + 1);
        const l = `WARN upstream auth failed key=${fakeOpenAiKey()}\n`;
        lines.push(l);
        size += l.length;
      }
      lines.push(filler);
      size += filler.length;
    }
    writeFileSync(join(root, 'big.log'), lines.join(''));
    const found = await scan([join(root, 'big.log')]);
    expect(found.map((m) => m.match.line)).toEqual(keysAt);
    expect(keysAt.length).toBeGreaterThanOrEqual(8);
  });

  it('skips binaries, counts them, and still scans UTF-16 text with or without a BOM', async () => {
    const key = fakeOpenAiKey();
    writeFileSync(join(root, 'image.bin'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 13]), Buffer.from(key)]));
    writeFileSync(join(root, 'notes.txt'), Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`key: ${key}\n`, 'utf16le')]));
    writeFileSync(join(root, 'nobom.txt'), Buffer.from(`first line\nkey: ${key}\n`, 'utf16le'));
    const stats = newStats();
    const skipped: [string, SkipReason][] = [];
    const found = await scan([root], { stats, onSkip: (f, r) => skipped.push([f, r]) });
    expect(found.map((m) => [m.file, m.match.line, m.match.column])).toEqual([
      [join(root, 'nobom.txt'), 2, 6],
      [join(root, 'notes.txt'), 1, 6],
    ]);
    expect(skipped).toEqual([[join(root, 'image.bin'), 'binary']]);
    expect(stats.skipped.binary).toBe(1);
    expect(stats.files).toBe(3);
  });

  it('lets go of a large binary file it skips (no file descriptor left open)', async () => {
    const big = join(root, 'video.bin');
    writeFileSync(big, Buffer.concat([Buffer.from([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70]), Buffer.alloc(9 * 1024 * 1024, 1)]));
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const stats = newStats();
    await scan([big], { stats }); // the first scan may open descriptors Node keeps (its thread pool)
    const before = openFds();
    for (let i = 0; i < 5; i++) expect(await scan([big], { stats })).toEqual([]);
    expect(stats.skipped.binary).toBe(6);
    expect(openFds()).toBe(before);
  });

  it('reports an unreadable file and goes on', async () => {
    writeFileSync(join(root, 'ok.env'), `K=${fakeOpenAiKey()}\n`);
    const skipped: [string, SkipReason, string | undefined][] = [];
    // /proc/self/mem is a regular file that fails to read (EIO), even for root.
    const found = await scan(['/proc/self/mem', join(root, 'ok.env')], { onSkip: (f, r, d) => skipped.push([f, r, d]) });
    expect(skipped).toEqual([['/proc/self/mem', 'unreadable', 'EIO']]);
    expect(found).toHaveLength(1);
  });

  it('fails with KW_FILE for a path that does not exist', async () => {
    await expect(scan([join(root, 'missing')])).rejects.toMatchObject({ code: 'KW_FILE', message: expect.stringMatching(/no such file or folder/) });
  });
});
