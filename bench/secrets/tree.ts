/**
 * A large tree of ordinary code: the JavaScript, TypeScript, JSON and Markdown of the installed
 * dependencies (real code, not generated filler), read into memory so that timings measure
 * scanning, not the disk.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export interface TreeFile {
  path: string;
  text: string;
}

const ROOT = resolve(import.meta.dirname, '../../node_modules');
const EXT = /\.(?:[cm]?js|ts|json|md|ya?ml|map)$/;

/** About `mb` megabytes of files (each under 1 MB), always the same ones for the same size. */
export function ordinaryCodeTree(mb: number): { files: TreeFile[]; bytes: number } {
  const files: TreeFile[] = [];
  let bytes = 0;
  const limit = mb * 1e6;
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (bytes >= limit) return;
      const p = join(dir, name);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (EXT.test(name) && st.size < 1e6 && st.size > 0) {
        const text = readFileSync(p, 'utf8');
        files.push({ path: relative(ROOT, p), text });
        bytes += Buffer.byteLength(text);
      }
    }
  };
  walk(ROOT);
  return { files, bytes };
}
