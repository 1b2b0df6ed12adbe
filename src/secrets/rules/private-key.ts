import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';

function pem(kind: string, lines: number): string {
  const body = Array.from({ length: lines }, () => rand.chars('base64', 64)).join('\n');
  return `-----BEGIN ${kind}PRIVATE KEY-----\n${body}\n${rand.chars('base64', 20)}==\n-----END ${kind}PRIVATE KEY-----`;
}

export const privateKeyRules: SecretRule[] = [
  {
    id: 'private-key',
    provider: 'Private key',
    title: 'Private key (PEM / OpenSSH)',
    severity: 'critical',
    keywords: ['PRIVATE KEY-----', 'PRIVATE KEY BLOCK-----'],
    window: { before: 40, after: 12_000 },
    // The body must be real base64 lines; `...` or a one-line stub in docs is not a key.
    pattern: /-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----(?:\r?\n[A-Za-z0-9-]+: [^\r\n]*)*(?:\r?\n)+(?:[A-Za-z0-9+/=]{16,}\r?\n){2,}[A-Za-z0-9+/=]*\r?\n?(?:=[A-Za-z0-9+/]{4}\r?\n)?-----END (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----/g,
    verify: (s) => s.length >= 200,
    examples: {
      match: [pem('RSA ', 20), `key: |\n${pem('', 10)}`, pem('OPENSSH ', 6), pem('EC ', 3)],
      noMatch: ['-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----\n' + rand.chars('base64', 64) + '\n' + rand.chars('base64', 64) + '\n-----END PUBLIC KEY-----'],
    },
  },
];
