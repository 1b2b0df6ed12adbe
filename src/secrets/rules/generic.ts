/**
 * The fallback: a high-entropy value assigned to a secret-looking name (`API_KEY=…`,
 * `"client_secret": "…"`), and bearer tokens in logs. Provider rules win when both match.
 */
import { charClasses, decodeBase64, isPlaceholder, looksLikeIdentifier, shannonEntropy } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';

const LOCKFILES = /(?:^|[\\/])(?:package-lock\.json|npm-shrinkwrap\.json|yarn\.lock|pnpm-lock\.yaml|bun\.lock|Cargo\.lock|poetry\.lock|Pipfile\.lock|composer\.lock|Gemfile\.lock|go\.sum|packages\.lock\.json|uv\.lock)$/;

/** Words, paths and dotted names, rather than random characters. */
function wordLike(value: string): boolean {
  // process.env.X, a.b.c; also `a.b===` (a comparison, taken for base64 padding), which base64 cannot be (no dot).
  if (/^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+=*$/.test(value)) return true;
  if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) return true; // UUID
  if (/^(?:sha(?:1|256|384|512)|md5)-/i.test(value)) return true; // integrity strings
  const segments = value.split(/[-_./+=~]+/).filter(Boolean);
  // Random secrets have at least one long random run; model names and paths are short pieces.
  if (Math.max(...segments.map((s) => s.length)) < 8) return true;
  return segments.every((seg) => seg.length <= 3 || /^[a-z]+$|^[A-Z][a-z]+$|^[A-Z]+$|^[0-9]+$|^[vV]?[0-9]+[a-zA-Z]?$/.test(seg) || looksLikeIdentifier(seg));
}

/** Base64 of readable placeholder text (`bm90IG15…` is "not my real password"). */
function encodedPlaceholder(value: string): boolean {
  const text = decodeBase64(value);
  return /^[\x20-\x7e]{8,}$/.test(text) && (isPlaceholder(text) || /pass(?:word|wd)?|not my real|example/i.test(text));
}

export function randomValue(value: string): boolean {
  if (value.length < 16 || wordLike(value) || encodedPlaceholder(value)) return false;
  const h = shannonEntropy(value);
  // Short values need a digit to tell them from words; long random ones may lack one by chance.
  if (!/[0-9]/.test(value) && value.length < 24) return false;
  return charClasses(value) >= 2 && h >= (value.length >= 32 ? 3.7 : 3.3);
}

/**
 * Names that hold keys which are not secret, or values that are not keys at all: public and
 * publishable keys, key ids, hashes used as keys, token counts, tokenizer settings.
 */
const NOT_SECRET_NAME = /(?:public|publishable|cache|hash|checksum|digest|primary|foreign|sort|partition|idempotency|dedup|lookup|i18n|translation)[_.-]?(?:api[_.-]?)?key|key[_.-]?(?:id|name|path|file|size|length|type|hash)|(?:max|num|total|input|output|prompt|completion)[_.-]?tokens?|tokeni[sz]er|token[_.-]?(?:type|count|limit|url|endpoint|uri|path|name)|secret[_.-]?(?:name|ref|path|arn|id)/i;

// Not shell or .env: there `X=value` assigns a literal, not a variable.
const CODE_FILE = /\.(?:[cm]?[jt]sx?|py|go|java|kt|rb|php|cs|rs|swift|scala|dart|c|h|cc|cpp|cxx|hpp|m|mm|lua)$/;

const NAME = '(?:api[_.-]?key|apikey|secret|token|passw(?:or)?d|pwd|credential|auth[_.-]?key|access[_.-]?key|private[_.-]?key|client[_.-]?secret)';

export const genericRules: SecretRule[] = [
  {
    id: 'generic-secret',
    provider: 'Generic',
    title: 'High-entropy value assigned to a secret-looking name',
    severity: 'medium',
    generic: true,
    keywords: ['key', 'secret', 'token', 'passw', 'pwd', 'credential'],
    context: true,
    // The pattern starts at the secret-looking word itself (`api_key` begins up to 8 characters
    // before the keyword `key`), so the regex never backtracks over long names.
    window: { before: 10, after: 260 },
    pattern: new RegExp(
      // NAME = value, NAME: value, ["NAME"] = value, set("NAME", "value"), and the Kubernetes
      // `- name: NAME` / `value: …` pair; quotes may be JSON-escaped.
      `${NAME}[A-Za-z0-9_.-]{0,20}(?:(?:\\\\?["'\`])?\\]?\\s{0,4}(?::=|=>|\\?=|[:=])\\s{0,4}(?:\\\\?["'\`])?|["'\`]\\s{0,4},\\s{0,4}["'\`]|["']?[ \\t]*\\r?\\n[ \\t]*value:[ \\t]*["']?)(?<secret>[A-Za-z0-9_\\-+/=.~]{16,200})(?![A-Za-z0-9_\\-+/=.~])`,
      'gi',
    ),
    verify: (value, ctx) => {
      const name = ctx.before + ctx.match.slice(0, ctx.match.length - value.length);
      // In code, an unquoted identifier after `=` is a variable, not a literal value.
      if (ctx.path !== undefined && CODE_FILE.test(ctx.path) && !/["'`]$/.test(name) && /^[A-Za-z_$][\w$]*$/.test(value)) return false;
      // An ARN names a secret (`arn:aws:secretsmanager:…:secret:NAME-suffix`); it does not hold one.
      if (/arn:aws[\w-]*:secretsmanager:[^\s]*$/.test(name)) return false;
      return randomValue(value) && !NOT_SECRET_NAME.test(name);
    },
    allowlist: { paths: [LOCKFILES] },
    examples: {
      match: [
        `API_KEY=${rand.chars('alnum', 32)}`,
        `  "client_secret": "${rand.chars('base64url', 40)}",`,
        `config.set('session_secret', '${rand.chars('hex', 64)}')`,
        `DB_PASSWORD: ${rand.chars('alnum', 20)}`,
      ],
      noMatch: [
        'API_KEY=process.env.API_KEY',
        'const tokenizerPath = "models/bert-base-uncased-vocab"',
        `secretKeyRef: ${rand.chars('lowerAlnum', 4)}-secret-name`,
        'token: ${{ secrets.GITHUB_TOKEN }}',
        'password = "hunter2"',
        `"integrity": "sha512-${rand.chars('base64', 86)}=="`,
        `API_KEY=${rand.chars('hex', 8)}-${rand.chars('hex', 4)}-${rand.chars('hex', 4)}-${rand.chars('hex', 4)}-${rand.chars('hex', 12)}`,
        'const getAccessTokenFromRefreshTokenHandler = createHandler()',
        'exports.k8sServiceAccountTokenProvider = k8sServiceAccountTokenProvider;',
        // Minified code: a comparison right after the name.
        'let includeCredentials=request2.credentials==="include"||request2.credentials==="same-origin"',
        `password: '${Buffer.from('not my real ' + 'password').toString('base64')}',`,
        'SecretId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/Db' + 'Creds-a1B2c3D4e5F6g7"',
        "'.env.example': 'VITE_OPENAI_API_KEY=\\nNEXT_PUBLIC_SUPABASE_ANON_KEY=\\n',",
        `CACHE_KEY=${rand.chars('hex', 64)}`,
        `"publicKey": "${rand.chars('base64', 88)}"`,
        `max_tokens: ${rand.chars('digits', 4)}, tokenizer_path: "${rand.chars('alnum', 24)}"`,
      ],
    },
  },
  {
    id: 'bearer-token',
    provider: 'Generic',
    title: 'Bearer token in an Authorization header',
    severity: 'medium',
    generic: true,
    keywords: ['bearer'],
    context: true,
    window: { before: 8, after: 600 },
    pattern: /(?<![A-Za-z0-9])bearer\s+(?<secret>[A-Za-z0-9_\-.~+/]{20,500}=*)(?![A-Za-z0-9_\-.~+/=])/gi,
    verify: randomValue,
    examples: {
      match: [`2026-01-01T00:00:00Z GET /v1/models Authorization: Bearer ${rand.chars('base64url', 40)}`],
      noMatch: ['Authorization: Bearer $TOKEN', 'Authorization: Bearer <token>', 'headers: { Authorization: `Bearer ${token}` }'],
    },
  },
];
