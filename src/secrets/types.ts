/**
 * The secrets engine's own types. `secrets/` imports nothing else of keyward's (DESIGN.md), so
 * `SecretFinding` repeats the shape of `Finding` in src/finding.ts; a type-level test keeps them
 * assignable.
 */
import type { Engine } from './engine.js';

export type SecretSeverity = 'critical' | 'high' | 'medium' | 'low' | 'info';

export interface SecretMatch {
  ruleId: string;
  provider: string;
  title: string;
  severity: SecretSeverity;
  /** The raw value, in memory only; never print it. */
  secret: string;
  /** Short prefix + `…` + last 4, e.g. `sk-proj-…abcd`. */
  redacted: string;
  /** Stable hash of the secret: `sha256:` + 16 hex. */
  fingerprint: string;
  /** 1-based line and column (UTF-16 code units, as editors and SARIF count them). */
  line: number;
  column: number;
  /** Offset and length of the secret in the scanned text. */
  index: number;
  length: number;
  revokeUrl?: string;
  /** How to revoke it when no page does (a command), never the secret. */
  revokeHow?: string;
}

export interface ScanTextOptions {
  /** The file the text came from; path-based allowlists and rules use it. */
  path?: string;
  /** Report `info` findings (JWTs) too. Off by default. */
  includeInfo?: boolean;
  /** The rules to scan with: the built-in ones by default, or an engine with a project's own rules added (custom-rules.ts). */
  engine?: Engine;
}

/** What the verifier of a rule sees besides the candidate value. */
export interface VerifyContext {
  /** The whole regex match, e.g. `KEY=value` for assignment rules. */
  match: string;
  /** Up to 64 characters of the line before the match (the rest of a variable name, a header). */
  before: string;
  path?: string;
}

export interface SecretRule {
  /** Stable id, kebab-case; findings use `secret-<id>`. */
  id: string;
  /** Who issued the secret, e.g. `OpenAI`. */
  provider: string;
  title: string;
  severity: SecretSeverity;
  /**
   * Literal strings, one of which must occur for the rule to run. A keyword is matched
   * case-sensitively unless the rule is a context rule (then any case: `AZURE_`, `azure`).
   */
  keywords: readonly string[];
  /**
   * Global regex; the secret is the named group `secret` (or the whole match). It runs only on a
   * window around a keyword hit, so it must be bounded in length.
   */
  pattern: RegExp;
  /**
   * A context rule: the value has no prefix of its own and is reported only near a keyword
   * (Azure, Mistral, Cohere, an AWS secret); its keywords match in any case.
   */
  context?: boolean;
  /**
   * The value must sit where a secret is assigned: a key-like name (`…_KEY`, `apiKey`, `token`,
   * `Authorization`) before it on its line or the line above, and no hash or id name (`md5`,
   * `commit`, `request_id`) right before it. Context rules for prefix-less values set this.
   */
  assigned?: boolean;
  /**
   * Where the pattern runs, in characters before and after a keyword hit. Defaults to
   * `{ before: 64, after: 512 }`; long values (PEM blocks, presigned tokens) need more.
   */
  window?: { before: number; after: number };
  /** Structural check (checksum, fixed marker, decoded prefix) that rejects look-alikes. */
  verify?: (secret: string, ctx: VerifyContext) => boolean;
  /** Minimum Shannon entropy (bits per character) of the secret. */
  minEntropy?: number;
  /** Generic rules lose to provider rules when both match the same text. */
  generic?: boolean;
  allowlist?: { secrets?: readonly RegExp[]; paths?: readonly RegExp[] };
  /** Where the owner revokes or rotates the key. */
  revokeUrl?: string;
  /** How to revoke this secret when no page does it (a command naming it), from the secret itself. */
  revokeHint?: (secret: string) => string;
  /** Texts the rule must find a secret in, and texts it must not (built from parts at run time). */
  examples: { match: readonly string[]; noMatch: readonly string[] };
}

/** What the key's issuer said when asked whether it accepts the key (`keyward secrets --verify`). */
export interface LiveCheck {
  /** `live`: accepted (a leak to revoke first); `rejected`: revoked or never real; `unknown`: not asked, or no clear answer. */
  verdict: 'live' | 'rejected' | 'unknown';
  /** What the provider answered, or why it could not be asked; never the key. */
  detail: string;
}

/** Where a secret was seen, for `matchToFinding`. */
export interface SecretLocation {
  file?: string;
  url?: string;
  commit?: string;
  date?: string;
}

/** Same field names and types as `Finding` in src/finding.ts (assignable to it). */
export interface SecretFinding {
  id: string;
  severity: SecretSeverity;
  title: string;
  evidence?: string;
  recommendation: string;
  docs?: string;
  location?: { file?: string; url?: string; line?: number; column?: number; commit?: string; date?: string };
  secret?: { rule: string; provider: string; redacted: string; fingerprint: string; revokeUrl?: string; live?: LiveCheck };
}
