/**
 * A project's own rules (`.keyward-rules.json`, or `keyward secrets --rules FILE`): secrets keyward
 * does not know, such as an internal service's tokens, in the built-in rules' shape, and paths never
 * to scan. The file is checked whole when read: a mistake is an error naming the rule and the field,
 * never a rule that silently finds nothing.
 *
 * {
 *   "schema": "keyward.rules/1",
 *   "rules": [{ "id": "acme-service-token", "provider": "Acme", "title": "Acme service token",
 *               "severity": "high", "keywords": ["acme_svc_"], "pattern": "acme_svc_[A-Za-z0-9]{32}",
 *               "minEntropy": 3, "allowlist": { "secrets": ["^acme_svc_0+$"] } }],
 *   "allowlist": { "paths": ["(^|/)test/fixtures/"] }
 * }
 */
import { readFileSync } from 'node:fs';
import { Engine } from './engine.js';
import { RULES } from './rules/index.js';
import type { SecretRule, SecretSeverity } from './types.js';

export const RULES_FILE = '.keyward-rules.json';
export const RULES_SCHEMA = 'keyward.rules/1';

const SEVERITIES: readonly SecretSeverity[] = ['critical', 'high', 'medium', 'low', 'info'];
const RULE_FIELDS = new Set(['id', 'provider', 'title', 'severity', 'keywords', 'pattern', 'flags', 'minEntropy', 'context', 'assigned', 'allowlist', 'revokeUrl']);
/** A keyword this short would hit nearly everywhere, and run the pattern on most of every file. */
const MIN_KEYWORD = 3;
const HINT = `see docs/secrets.md, "Your own rules"; the file's shape: {"schema": "${RULES_SCHEMA}", "rules": [...], "allowlist": {"paths": [...]}}`;

export class RulesFileError extends Error {
  readonly code = 'KW_BAD_CONFIG';
  readonly hint: string;
  readonly exitCode = 2;
  constructor(message: string, hint = HINT) {
    super(message);
    this.name = 'RulesFileError';
    this.hint = hint;
  }
}

export interface CustomRules {
  rules: SecretRule[];
  allowPaths: RegExp[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function regex(source: unknown, where: string, flags = ''): RegExp {
  if (typeof source !== 'string' || source === '') throw new RulesFileError(`${where} must be a regular expression, as a non-empty string`);
  try {
    return new RegExp(source, flags);
  } catch (e) {
    throw new RulesFileError(`${where} is not a valid regular expression: ${(e as Error).message}`);
  }
}

function strings(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new RulesFileError(`${where} must be a list of strings`);
  return v as string[];
}

function oneRule(raw: unknown, i: number, taken: Set<string>): SecretRule {
  if (!isObject(raw)) throw new RulesFileError(`rule ${i + 1} must be an object`);
  const id = raw.id;
  if (typeof id !== 'string' || !/^[a-z0-9]+(?:-[a-z0-9]+)*$/.test(id)) throw new RulesFileError(`rule ${i + 1}: 'id' must be kebab-case (lowercase letters, digits and dashes), e.g. "acme-service-token"`);
  const at = `rule '${id}'`;
  if (taken.has(id)) throw new RulesFileError(`${at}: the id is ${RULES.some((r) => r.id === id) ? "a built-in rule's" : 'used twice'}; give the rule an id of its own`);
  taken.add(id);
  for (const k of Object.keys(raw)) if (!RULE_FIELDS.has(k)) throw new RulesFileError(`${at}: unknown field '${k}' (a rule takes ${[...RULE_FIELDS].join(', ')})`);
  for (const k of ['provider', 'title'] as const) if (typeof raw[k] !== 'string' || raw[k] === '') throw new RulesFileError(`${at}: '${k}' must be a non-empty string`);
  const severity = raw.severity;
  if (typeof severity !== 'string' || !(SEVERITIES as readonly string[]).includes(severity)) throw new RulesFileError(`${at}: 'severity' must be one of ${SEVERITIES.join(', ')}`);
  const keywords = strings(raw.keywords, `${at}: 'keywords'`);
  if (keywords.length === 0 || keywords.some((k) => k.length < MIN_KEYWORD)) throw new RulesFileError(`${at}: 'keywords' must list at least one string of ${MIN_KEYWORD} or more characters: the pattern runs only near one of them`);
  const flags = raw.flags ?? '';
  if (typeof flags !== 'string' || !/^[ims]*$/.test(flags)) throw new RulesFileError(`${at}: 'flags' may hold i, m and s alone`);
  const pattern = regex(raw.pattern, `${at}: 'pattern'`, flags);
  if (pattern.test('')) throw new RulesFileError(`${at}: 'pattern' matches an empty string, so it would report nothing useful; make it require the secret's characters`);
  const rule: SecretRule = {
    id,
    provider: raw.provider as string,
    title: raw.title as string,
    severity: severity as SecretSeverity,
    keywords,
    pattern,
    examples: { match: [], noMatch: [] },
  };
  if (raw.minEntropy !== undefined) {
    if (typeof raw.minEntropy !== 'number' || !(raw.minEntropy >= 0 && raw.minEntropy <= 8)) throw new RulesFileError(`${at}: 'minEntropy' must be a number of bits per character from 0 to 8`);
    rule.minEntropy = raw.minEntropy;
  }
  for (const k of ['context', 'assigned'] as const) {
    if (raw[k] === undefined) continue;
    if (typeof raw[k] !== 'boolean') throw new RulesFileError(`${at}: '${k}' must be true or false`);
    rule[k] = raw[k];
  }
  if (raw.revokeUrl !== undefined) {
    if (typeof raw.revokeUrl !== 'string' || !/^https:\/\/\S+$/.test(raw.revokeUrl)) throw new RulesFileError(`${at}: 'revokeUrl' must be an https:// URL`);
    rule.revokeUrl = raw.revokeUrl;
  }
  if (raw.allowlist !== undefined) {
    if (!isObject(raw.allowlist)) throw new RulesFileError(`${at}: 'allowlist' must be an object: {"secrets": [...], "paths": [...]}`);
    const secrets = raw.allowlist.secrets === undefined ? [] : strings(raw.allowlist.secrets, `${at}: 'allowlist.secrets'`).map((s, j) => regex(s, `${at}: allowlist.secrets[${j}]`));
    const paths = raw.allowlist.paths === undefined ? [] : strings(raw.allowlist.paths, `${at}: 'allowlist.paths'`).map((s, j) => regex(s, `${at}: allowlist.paths[${j}]`));
    rule.allowlist = { secrets, paths };
  }
  return rule;
}

/** Reads and checks a rules file's text; `name` is how errors call it. */
export function parseRules(text: string, name: string): CustomRules {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new RulesFileError(`${name} is not valid JSON: ${(e as Error).message}`);
  }
  const where = (msg: string) => new RulesFileError(`${name}: ${msg}`);
  if (!isObject(doc)) throw where('the file must hold a JSON object');
  if (doc.schema !== RULES_SCHEMA) throw where(`'schema' must be "${RULES_SCHEMA}"`);
  for (const k of Object.keys(doc)) if (!['schema', 'rules', 'allowlist'].includes(k)) throw where(`unknown field '${k}' (the file takes schema, rules and allowlist)`);
  const taken = new Set(RULES.map((r) => r.id));
  let rules: SecretRule[];
  let allowPaths: RegExp[] = [];
  try {
    if (doc.rules !== undefined && !Array.isArray(doc.rules)) throw new RulesFileError("'rules' must be a list");
    rules = ((doc.rules as unknown[] | undefined) ?? []).map((r, i) => oneRule(r, i, taken));
    if (doc.allowlist !== undefined) {
      if (!isObject(doc.allowlist) || Object.keys(doc.allowlist).some((k) => k !== 'paths')) throw new RulesFileError(`'allowlist' must be {"paths": [...]}: regular expressions of paths never scanned`);
      allowPaths = doc.allowlist.paths === undefined ? [] : strings(doc.allowlist.paths, "'allowlist.paths'").map((s, j) => regex(s, `allowlist.paths[${j}]`));
    }
  } catch (e) {
    if (e instanceof RulesFileError) throw where(e.message);
    throw e;
  }
  return { rules, allowPaths };
}

export function loadRules(file: string): CustomRules {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RulesFileError(`cannot read the rules file '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, 'check the path given to --rules');
  }
  return parseRules(text, file);
}

/** The engine over the built-in rules and a project's own. */
export function engineWith(custom: CustomRules): Engine {
  return new Engine([...RULES, ...custom.rules], { allowPaths: custom.allowPaths });
}
