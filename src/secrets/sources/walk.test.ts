import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { walkFiles, type WalkEntry, type WalkOptions } from './walk.js';

let root: string;

function put(rel: string, text = 'x'): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text);
}

async function walk(dir: string, options?: WalkOptions): Promise<WalkEntry[]> {
  const out: WalkEntry[] = [];
  for await (const e of walkFiles(dir, options)) out.push(e);
  return out;
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'kw-walk-'));
  put('.gitignore', 'dist/\n*.log\n!keep.log\n');
  put('src/app.ts');
  put('src/.gitignore', 'generated.ts\n');
  put('src/generated.ts');
  put('dist/bundle.js');
  put('debug.log');
  put('logs/keep.log');
  put('.git/config');
  put('.env');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('walkFiles', () => {
  it('skips what .gitignore files at every level exclude, and the .git folder', async () => {
    expect((await walk(root)).map((e) => e.relPath)).toEqual(['.env', '.gitignore', 'logs/keep.log', 'src/.gitignore', 'src/app.ts']);
  });

  it('walks everything but .git with gitignore off (--no-ignore)', async () => {
    const rel = (await walk(root, { gitignore: false })).map((e) => e.relPath);
    expect(rel).toContain('dist/bundle.js');
    expect(rel).toContain('src/generated.ts');
    expect(rel).not.toContain('.git/config');
  });

  it('yields ignored files flagged, for the audit, with includeIgnored', async () => {
    const entries = await walk(root, { includeIgnored: true });
    const flag = Object.fromEntries(entries.map((e) => [e.relPath, e.ignored]));
    expect(flag['dist/bundle.js']).toBe(true);
    expect(flag['debug.log']).toBe(true);
    expect(flag['src/generated.ts']).toBe(true);
    expect(flag['src/app.ts']).toBe(false);
    expect(flag['logs/keep.log']).toBe(false);
  });

  it("applies the enclosing repository's .gitignore to a subfolder, but walks a folder named explicitly", async () => {
    rmSync(join(root, '.git'), { recursive: true });
    execFileSync('git', ['init', '-q', root]);
    expect((await walk(join(root, 'logs'))).map((e) => e.relPath)).toEqual(['keep.log']);
    put('logs/other.log');
    expect((await walk(join(root, 'logs'))).map((e) => e.relPath)).toEqual(['keep.log']);
    expect((await walk(join(root, 'dist'))).map((e) => e.relPath)).toEqual(['bundle.js']);
  });

  it('does not follow symbolic links, so a link loop ends', async () => {
    symlinkSync(root, join(root, 'src', 'loop'));
    symlinkSync(join(root, 'src', 'app.ts'), join(root, 'link.ts'));
    const rel = (await walk(root)).map((e) => e.relPath);
    expect(rel).toEqual(['.env', '.gitignore', 'logs/keep.log', 'src/.gitignore', 'src/app.ts']);
  });

  it('survives a .gitignore full of nonsense', async () => {
    put('.gitignore', '[\n[z-a]\n\\\n\u0000\u00ff\n!\n/\n');
    const rel = (await walk(root)).map((e) => e.relPath);
    expect(rel).toContain('src/app.ts');
  });

  it('yields a file given as the root', async () => {
    const entries = await walk(join(root, 'src/app.ts'));
    expect(entries).toHaveLength(1);
    expect(entries[0]!.size).toBe(1);
  });
});
