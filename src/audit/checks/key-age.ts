/**
 * Key age: keys should be rotated every quarter (90 days, as key-security guidance asks), so a
 * leaked key stops working on its own. The put-in date comes from `keyward.config.json` when it
 * records one; otherwise from git (the last commit that wrote the variable's current value); otherwise,
 * as a lower bound, from the `.env` file's modification time (a file untouched for 120 days holds
 * keys at least that old).
 */
import { stat } from 'node:fs/promises';
import type { Finding } from '../../finding.js';
import { fingerprintSecret, scanText } from '../../secrets/index.js';
import { CONFIG_FILE, DEFAULT_ROTATION_DAYS, type KeyRecord } from '../config.js';
import { isEnvFile, isPlaceholderValue, parseDotenv } from '../dotenv.js';
import { looksLikeAiKeyName } from '../names.js';
import { auditDocs, type AuditCheck, type AuditContext } from '../types.js';

const DAY = 86_400_000;

function days(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / DAY);
}

function finding(ctx: AuditContext, title: string, evidence: string, location: Finding['location'], age: number, rotation: number): Finding {
  return {
    id: 'key-age',
    severity: age >= 2 * rotation ? 'high' : 'medium',
    title,
    evidence,
    recommendation: `Rotate it: create a new key at the provider, deploy it, then revoke the old one. Record the date in ${CONFIG_FILE} ("keys": [{ "name": …, "createdAt": "${ctx.now.toISOString().slice(0, 10)}" }]) so the next audit knows. Rotation period: ${rotation} days.`,
    docs: auditDocs('key-age'),
    location,
  };
}

export function rotationDaysFor(ctx: AuditContext, record?: KeyRecord, override?: number): number {
  return record?.rotationDays ?? override ?? ctx.config?.audit?.rotationDays ?? DEFAULT_ROTATION_DAYS;
}

export function keyAge(override?: number): AuditCheck {
  return {
    id: 'key-age',
    title: 'Keys rotated every 90 days',
    async project(ctx) {
      const findings: Finding[] = [];
      const records = ctx.config?.keys ?? [];
      const covered = new Set<KeyRecord>();

      for (const file of ctx.files.filter((f) => isEnvFile(f.path))) {
        const text = await ctx.readText(file);
        if (text === undefined) continue;
        let mtime: Date | undefined;
        for (const a of parseDotenv(text)) {
          if (isPlaceholderValue(a.value)) continue;
          const match = scanText(a.value, { path: file.path, engine: ctx.engine })[0];
          if (!match && !looksLikeAiKeyName(a.name)) continue;
          const fp = match?.fingerprint ?? fingerprintSecret(a.value);
          const record = records.find((r) => r.fingerprint === fp) ?? records.find((r) => r.name === a.name);
          const rotation = rotationDaysFor(ctx, record, override);
          const location = { file: file.path, line: a.line };
          const label = `${a.name} in ${file.path}`;
          if (record) {
            covered.add(record);
            const age = days(new Date(record.createdAt), ctx.now);
            if (age > rotation) findings.push(finding(ctx, `${label} is ${age} days old (put in ${record.createdAt.slice(0, 10)}, per ${CONFIG_FILE})`, `${a.name}=${match?.redacted ?? '…'}`, location, age, rotation));
            continue;
          }
          const changed = ctx.git ? await ctx.git.lastChange(file.path, a.name) : undefined;
          // Git's date counts only if the committed value is the one in the file now (it may have been rotated since).
          if (changed && parseDotenv(changed.line)[0]?.value === a.value) {
            const age = days(new Date(changed.date), ctx.now);
            if (age > rotation) {
              findings.push(finding(ctx, `${label} last changed ${age} days ago (commit ${changed.commit.slice(0, 12)}, ${changed.date.slice(0, 10)})`, `${a.name}=${match?.redacted ?? '…'}`, { ...location, commit: changed.commit, date: changed.date }, age, rotation));
            }
            continue;
          }
          mtime ??= await stat(file.abs).then((s) => s.mtime, () => undefined);
          if (mtime) {
            const age = days(mtime, ctx.now);
            if (age > rotation) {
              findings.push(finding(ctx, `${label} is at least ${age} days old (the file has not changed since ${mtime.toISOString().slice(0, 10)})`, `${a.name}=${match?.redacted ?? '…'}`, location, age, rotation));
            }
          }
        }
      }

      // Keys recorded in the config but not found in a .env file (e.g. held by the gateway) age too.
      for (const record of records) {
        if (covered.has(record)) continue;
        const rotation = rotationDaysFor(ctx, record, override);
        const age = days(new Date(record.createdAt), ctx.now);
        const label = record.name ?? record.fingerprint ?? 'a key';
        if (age > rotation) findings.push(finding(ctx, `${label} is ${age} days old (put in ${record.createdAt.slice(0, 10)}, per ${CONFIG_FILE})`, `recorded createdAt ${record.createdAt}`, { file: CONFIG_FILE }, age, rotation));
      }
      return findings;
    },
  };
}
