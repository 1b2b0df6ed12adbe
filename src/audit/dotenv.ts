/**
 * Reads `.env` files the way dotenv does (`NAME=value`, optional `export`, quotes, `#` comments),
 * keeping the line number of each assignment so that findings can point at it. dotenv's own
 * parser returns values only, without positions, hence this small reader.
 */
import { posix } from 'node:path';

export interface EnvAssignment {
  name: string;
  value: string;
  /** 1-based line of the assignment. */
  line: number;
}

const ASSIGNMENT = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*[=:]\s*(.*)$/;

export function parseDotenv(text: string): EnvAssignment[] {
  const out: EnvAssignment[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const m = ASSIGNMENT.exec(lines[i]!);
    if (!m) continue;
    const line = i + 1;
    let raw = m[2]!.trim();
    const quote = raw[0];
    if (quote === '"' || quote === "'" || quote === '`') {
      let end = raw.indexOf(quote, 1);
      // A quoted value may run over several lines.
      while (end < 0 && i + 1 < lines.length) {
        raw += '\n' + lines[++i]!;
        end = raw.indexOf(quote, 1);
      }
      raw = end < 0 ? raw.slice(1) : raw.slice(1, end);
    } else {
      raw = raw.replace(/\s+#.*$/, '').trim();
    }
    out.push({ name: m[1]!, value: raw, line });
  }
  return out;
}

/** `.env`, `.env.local`, `.env.production` … but not the committed templates. */
export function isEnvFile(path: string): boolean {
  const base = posix.basename(path);
  if (base !== '.env' && !base.startsWith('.env.')) return false;
  // `.env.vault` holds dotenv-vault's encrypted values and is meant to be committed.
  return !/\.(example|sample|template|dist|defaults|schema|tpl|md|vault|d\.ts)$/i.test(base) && !/\.(example|sample|template)\./i.test(base);
}

/** True when a value is obviously not a real credential: empty, a placeholder or a reference. */
export function isPlaceholderValue(value: string): boolean {
  const v = value.trim();
  if (v.length < 8) return true;
  if (/^\$\{?[A-Za-z_]/.test(v)) return true; // a reference to another variable
  if (/^<.*>$|^\[.*\]$|^\{\{.*\}\}$/.test(v)) return true;
  if (/your|replace|change.?me|example|placeholder|dummy|xxxx|\*\*\*\*|\.\.\.|todo|insert|fake|test[-_]?key/i.test(v)) return true;
  return /^(.)\1+$/.test(v);
}
