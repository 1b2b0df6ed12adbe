import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? tsFiles(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : [];
  });
}

function relativeImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g)) out.push(resolve(dirname(file), m[1]!));
  return out;
}

describe('DESIGN.md one-way flow', () => {
  it('secrets/ imports nothing else of keyward', () => {
    const bad = tsFiles(join(SRC, 'secrets')).flatMap((f) =>
      relativeImports(f)
        .filter((target) => !target.startsWith(join(SRC, 'secrets') + '/'))
        .map((target) => `${relative(SRC, f)} -> ${relative(SRC, target)}`),
    );
    expect(bad).toEqual([]);
  });

  it('the library never imports cli/ or web/', () => {
    const library = tsFiles(SRC).filter((f) => !f.startsWith(join(SRC, 'cli') + '/') && !f.startsWith(join(SRC, 'web') + '/'));
    const bad = library.flatMap((f) =>
      relativeImports(f)
        .filter((t) => t.startsWith(join(SRC, 'cli') + '/') || t.startsWith(join(SRC, 'web') + '/'))
        .map((t) => `${relative(SRC, f)} -> ${relative(SRC, t)}`),
    );
    expect(bad).toEqual([]);
  });
});
