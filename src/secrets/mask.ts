/** The short form of a secret shown wherever one is reported. */

/**
 * The report form of a secret: its fixed prefix (at most 12 characters and never more than a
 * third of it), an ellipsis and the last 4. Short secrets show less; a PEM block only its header.
 */
export function redactSecret(secret: string): string {
  const pem = /^-----BEGIN [A-Z ]+-----/.exec(secret);
  if (pem) return pem[0] + '…';
  const n = secret.length;
  if (n < 12) return '…';
  if (n < 24) return secret.slice(0, 2) + '…' + secret.slice(-2);
  const fixed = /^(?:[a-z0-9]{1,7}[-_.]){1,2}/.exec(secret)?.[0] ?? '';
  const prefix = fixed && fixed.length <= 12 && fixed.length <= n / 3 ? fixed : secret.slice(0, 4);
  return prefix + '…' + secret.slice(-4);
}
