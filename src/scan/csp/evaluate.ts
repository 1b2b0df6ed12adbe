/**
 * What a set of policies lets a page do, as browsers enforce them: each enforced policy must
 * allow a load, so something is allowed only when EVERY enforced policy allows it.
 * Within a policy: script-src falls back to default-src; a nonce or hash makes browsers
 * ignore 'unsafe-inline'; 'strict-dynamic' (with a nonce or hash) makes them also ignore
 * host and scheme sources and 'self'. base-uri, form-action and frame-ancestors have no fallback.
 */
import type { CspPolicy } from './parse.js';

/** Sources that let any host (or attacker-controlled content) in. */
export const BROAD_SOURCES = new Set(['*', 'http:', 'https:', 'ftp:', 'http://*', 'http://*.*', 'https://*', 'https://*.*']);
const INLINE_LIKE = new Set(["'unsafe-inline'", 'data:']);

function isNonceOrHash(s: string): boolean {
  return s.startsWith("'nonce-") || s.startsWith("'sha256-") || s.startsWith("'sha384-") || s.startsWith("'sha512-");
}

function isSchemeOrHost(s: string): boolean {
  return !s.startsWith("'");
}

export interface PolicyEffect {
  /** Effective script sources after fallback and the nonce/hash/strict-dynamic rules; undefined = unrestricted. */
  scriptSources?: string[];
  styleSources?: string[];
  objectSources?: string[];
  /** Inline <script> runs. */
  scriptInline: boolean;
  /** eval() and friends run. */
  scriptEval: boolean;
  /** Scripts from any host, any https: host or data: URLs. */
  scriptBroad: boolean;
  scriptData: boolean;
  /** <object>/<embed> from anywhere. */
  objectBroad: boolean;
  /** <object>/<embed> from data: URLs (inline plugin content). */
  objectData: boolean;
  /** object-src is not 'none' (plugins are a script vector). */
  objectNotNone: boolean;
  styleUnsafe: boolean;
  styleEval: boolean;
  strictDynamic: boolean;
  /** 'strict-dynamic' without a nonce or hash: every script is blocked. */
  strictDynamicWithoutNonce: boolean;
  /** An http:/ftp: source outside img-src/media-src (what the Observatory calls active content). */
  insecureActive: boolean;
  insecurePassive: boolean;
  defaultNone: boolean;
  baseUriUnrestricted: boolean;
  formActionUnrestricted: boolean;
  /** frame-ancestors as browsers apply it (header policies only). */
  frameAncestors?: string[];
  duplicateReportDirectives: boolean;
}

const PASSIVE = new Set(['img-src', 'media-src']);

function effective(p: CspPolicy, directive: string): string[] | undefined {
  return p.directives.get(directive) ?? p.directives.get('default-src');
}

function withoutNeutralisedInline(list: string[] | undefined): string[] | undefined {
  if (!list) return undefined;
  return list.some(isNonceOrHash) ? list.filter((s) => s !== "'unsafe-inline'") : list;
}

/** A script source list as browsers apply it: nonce/hash and 'strict-dynamic' rules done. */
function applyScriptRules(list: string[] | undefined): string[] | undefined {
  const script = withoutNeutralisedInline(list);
  // CSP3 §8.2: with 'strict-dynamic', browsers ignore host and scheme sources, 'self' and
  // 'unsafe-inline' whether or not a nonce or hash is there (without one, no script runs at all).
  if (script?.includes("'strict-dynamic'")) return script.filter((s) => !isSchemeOrHost(s) && s !== "'self'" && s !== "'unsafe-inline'");
  return script;
}

export function evaluatePolicy(p: CspPolicy): PolicyEffect {
  const declared = effective(p, 'script-src');
  const script = applyScriptRules(declared);
  // <script> elements obey script-src-elem and inline event handlers script-src-attr, each
  // falling back to script-src, then default-src (CSP3 §6.8 "effective directive").
  const elem = p.directives.has('script-src-elem') ? applyScriptRules(p.directives.get('script-src-elem')) : script;
  const attr = p.directives.has('script-src-attr') ? applyScriptRules(p.directives.get('script-src-attr')) : script;
  const style = withoutNeutralisedInline(effective(p, 'style-src'));
  const object = effective(p, 'object-src');
  const strictDynamic = declared?.includes("'strict-dynamic'") ?? false;
  const hasNonceOrHash = declared?.some(isNonceOrHash) ?? false;
  const inline = (l: string[] | undefined): boolean => !l || l.includes("'unsafe-inline'");
  const scriptInline = inline(elem) || inline(attr);
  const scriptBroad = !elem || elem.some((s) => BROAD_SOURCES.has(s));
  const scriptData = !elem || elem.includes('data:');

  const activeSources = [
    ...[...p.directives].filter(([d]) => !PASSIVE.has(d) && d !== 'script-src').flatMap(([, v]) => v),
    ...(script ?? []),
  ];
  const passiveSources = [...PASSIVE].flatMap((d) => effective(p, d) ?? []);
  const insecure = (s: string): boolean => s.startsWith('http:') || s.startsWith('ftp:');
  const base = p.directives.get('base-uri');
  const form = p.directives.get('form-action');
  const fa = p.source === 'header' ? p.directives.get('frame-ancestors') : undefined;
  const defaultSrc = p.directives.get('default-src');

  return {
    scriptSources: script,
    styleSources: style,
    objectSources: object,
    scriptInline,
    scriptEval: !script || script.includes("'unsafe-eval'"),
    scriptBroad,
    scriptData,
    objectBroad: !object || object.some((s) => BROAD_SOURCES.has(s)),
    objectData: !object || object.includes('data:'),
    objectNotNone: !object || !(object.length === 0 || (object.length === 1 && object[0] === "'none'")),
    styleUnsafe: !style || style.some((s) => BROAD_SOURCES.has(s) || INLINE_LIKE.has(s)),
    styleEval: style?.includes("'unsafe-eval'") ?? false,
    strictDynamic: strictDynamic && hasNonceOrHash,
    strictDynamicWithoutNonce: strictDynamic && !hasNonceOrHash,
    insecureActive: activeSources.some(insecure),
    insecurePassive: passiveSources.some(insecure),
    defaultNone: defaultSrc !== undefined && (defaultSrc.length === 0 || (defaultSrc.length === 1 && defaultSrc[0] === "'none'")),
    baseUriUnrestricted: !base || base.some((s) => BROAD_SOURCES.has(s) || INLINE_LIKE.has(s)),
    formActionUnrestricted: !form || form.some((s) => BROAD_SOURCES.has(s)),
    ...(fa ? { frameAncestors: fa } : {}),
    duplicateReportDirectives: p.duplicates.some((d) => d === 'report-uri' || d === 'report-to'),
  };
}

/** A risk flag holds for the page only when every enforced policy has it; a protection when any has it. */
export function combineEffects(effects: PolicyEffect[]): PolicyEffect {
  const all = (k: keyof PolicyEffect): boolean => effects.every((e) => e[k] === true);
  const any = (k: keyof PolicyEffect): boolean => effects.some((e) => e[k] === true);
  const restrictiveFa = effects.map((e) => e.frameAncestors).filter((fa): fa is string[] => fa !== undefined);
  const first = effects[0];
  return {
    scriptSources: first?.scriptSources,
    styleSources: first?.styleSources,
    objectSources: first?.objectSources,
    scriptInline: all('scriptInline'),
    scriptEval: all('scriptEval'),
    scriptBroad: all('scriptBroad'),
    scriptData: all('scriptData'),
    objectBroad: all('objectBroad'),
    objectData: all('objectData'),
    objectNotNone: all('objectNotNone'),
    styleUnsafe: all('styleUnsafe'),
    styleEval: all('styleEval'),
    strictDynamic: any('strictDynamic'),
    strictDynamicWithoutNonce: any('strictDynamicWithoutNonce'),
    insecureActive: all('insecureActive'),
    insecurePassive: all('insecurePassive'),
    defaultNone: any('defaultNone'),
    baseUriUnrestricted: all('baseUriUnrestricted'),
    formActionUnrestricted: all('formActionUnrestricted'),
    // The most restrictive frame-ancestors wins: a frame must satisfy every policy.
    ...(restrictiveFa.length > 0
      ? { frameAncestors: restrictiveFa.find((fa) => !fa.some((s) => BROAD_SOURCES.has(s))) ?? restrictiveFa[0] }
      : {}),
    duplicateReportDirectives: any('duplicateReportDirectives'),
  };
}

/** True when a frame-ancestors list actually restricts who may frame the page. */
export function frameAncestorsRestrict(list: string[] | undefined): boolean {
  return list !== undefined && !list.some((s) => BROAD_SOURCES.has(s));
}
