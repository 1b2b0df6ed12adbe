/**
 * `keyward.config.json` at the project root: when each key was put in, so that the key-age
 * check can ask for the quarterly rotation. Example:
 *
 *   { "audit": { "rotationDays": 90 },
 *     "keys": [ { "name": "OPENAI_API_KEY", "createdAt": "2026-08-01" },
 *               { "fingerprint": "sha256:0123456789abcdef", "createdAt": "2026-09-15T10:00:00Z" } ] }
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KeywardError } from '../errors.js';

export const CONFIG_FILE = 'keyward.config.json';
export const DEFAULT_ROTATION_DAYS = 90;

export interface KeyRecord {
  /** The environment variable that holds the key. */
  name?: string;
  /** Or the key's fingerprint as keyward prints it. */
  fingerprint?: string;
  /** When the key was created or last rotated (ISO date). */
  createdAt: string;
  /** A rotation period for this key only. */
  rotationDays?: number;
}

export interface KeywardConfig {
  audit?: { rotationDays?: number };
  keys?: KeyRecord[];
}

function bad(message: string): KeywardError {
  return new KeywardError('KW_BAD_CONFIG', `${CONFIG_FILE}: ${message}`, {
    hint: 'fix the file (see docs/audit.md, "Key age") or move it away to audit without it',
  });
}

function positiveDays(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw bad(`${where} must be a positive number of days, got ${JSON.stringify(v)}`);
  return v;
}

/** Reads and checks the config; undefined when there is none. A malformed one is an error, never silently ignored. */
export async function loadConfig(root: string): Promise<KeywardConfig | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, CONFIG_FILE), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new KeywardError('KW_BAD_CONFIG', `${CONFIG_FILE} cannot be read (${code ?? String(e)})`, { hint: 'check its permissions', cause: e });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw bad(`not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('must be a JSON object');
  const obj = raw as Record<string, unknown>;
  const config: KeywardConfig = {};
  if (obj.audit !== undefined) {
    if (typeof obj.audit !== 'object' || obj.audit === null) throw bad('"audit" must be an object');
    config.audit = { rotationDays: positiveDays((obj.audit as Record<string, unknown>).rotationDays, 'audit.rotationDays') };
  }
  if (obj.keys !== undefined) {
    if (!Array.isArray(obj.keys)) throw bad('"keys" must be an array of { name or fingerprint, createdAt }');
    config.keys = obj.keys.map((k: unknown, i): KeyRecord => {
      const where = `keys[${i}]`;
      if (typeof k !== 'object' || k === null) throw bad(`${where} must be an object`);
      const r = k as Record<string, unknown>;
      if (typeof r.name !== 'string' && typeof r.fingerprint !== 'string') throw bad(`${where} needs "name" (the variable) or "fingerprint"`);
      if (typeof r.createdAt !== 'string' || Number.isNaN(Date.parse(r.createdAt))) {
        throw bad(`${where}.createdAt must be an ISO date such as "2026-08-01", got ${JSON.stringify(r.createdAt)}`);
      }
      return {
        name: typeof r.name === 'string' ? r.name : undefined,
        fingerprint: typeof r.fingerprint === 'string' ? r.fingerprint : undefined,
        createdAt: r.createdAt,
        rotationDays: positiveDays(r.rotationDays, `${where}.rotationDays`),
      };
    });
  }
  return config;
}
