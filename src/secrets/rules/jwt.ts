import { decodeBase64 } from '../checks.js';
import { b64, rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

const url = (s: string) => b64(s).replace(/\+/g, '-').replace(/\//g, '_');

export const jwtRules: SecretRule[] = [
  {
    // Often public (Supabase anon keys, ID tokens) but worth a look: reported as info.
    id: 'jwt',
    provider: 'JWT',
    title: 'JSON Web Token',
    severity: 'info',
    keywords: ['eyJ'],
    window: { before: 8, after: 7100 },
    pattern: token('eyJ[A-Za-z0-9_-]{10,2000}\\.eyJ[A-Za-z0-9_-]{10,4000}\\.[A-Za-z0-9_-]{10,1000}'),
    verify: (s) => decodeBase64(s.slice(0, s.indexOf('.'))).includes('"alg"'),
    examples: {
      match: [`Authorization: Bearer ${url('{"alg":"HS256","typ":"JWT"}')}.${url(`{"sub":"${rand.chars('digits', 8)}","iat":1700000000}`)}.${rand.chars('base64url', 43)}`],
      noMatch: ['eyJhbGciOi...'],
    },
  },
];
