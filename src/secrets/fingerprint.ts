import { createHash } from 'node:crypto';

/** A stable hash of the secret, to recognise it across reports and baselines without storing it. */
export function fingerprintSecret(secret: string): string {
  return 'sha256:' + createHash('sha256').update(secret, 'utf8').digest('hex').slice(0, 16);
}
