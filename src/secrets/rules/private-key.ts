import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';

/** A line break: a real one, or the two characters `\n` as JSON escapes it. */
const NL = '(?:\\r?\\n|(?:\\\\r)?\\\\n)';

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
    // The body must be real base64 lines; `...` or a one-line stub in docs is not a key. Lines
    // end in real newlines, or in `\n` escapes inside a JSON string (Google service-account files).
    pattern: new RegExp(
      `-----BEGIN (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----(?:${NL}[A-Za-z0-9-]+: [^\\r\\n]*)*(?:${NL})+(?:[A-Za-z0-9+/=]{16,}${NL}){2,}[A-Za-z0-9+/=]*(?:${NL})?(?:=[A-Za-z0-9+/]{4}${NL})?-----END (?:(?:RSA|DSA|EC|OPENSSH|ENCRYPTED|PGP) )?PRIVATE KEY(?: BLOCK)?-----`,
      'g',
    ),
    verify: (s) => s.length >= 200,
    examples: {
      match: [
        pem('RSA ', 20),
        `key: |\n${pem('', 10)}`,
        pem('OPENSSH ', 6),
        pem('EC ', 3),
        // A Google service-account key file: the PEM sits in a JSON string with escaped newlines.
        JSON.stringify({ type: 'service_account', project_id: 'demo', private_key_id: rand.chars('hex', 40), private_key: pem('', 16) + '\n', client_email: 'svc@demo.iam.gserviceaccount.com' }, null, 2),
      ],
      noMatch: ['-----BEGIN RSA PRIVATE KEY-----\n...\n-----END RSA PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----\n' + rand.chars('base64', 64) + '\n' + rand.chars('base64', 64) + '\n-----END PUBLIC KEY-----'],
    },
  },
];
