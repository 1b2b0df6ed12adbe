/**
 * What the exposure gathering found: the page's scripts and source maps with the secrets and
 * direct AI calls in them, the well-known leak paths probed, directory listings and debug pages.
 * No raw secret is kept: only redacted forms, fingerprints and masked context lines.
 */
import type { BrowserAiCallHit } from '../../detect/browser-ai-calls.js';

/** How a file was reached from the page. */
export type DiscoveryVia =
  | 'page'
  | 'script-src'
  | 'modulepreload'
  | 'next-build-manifest'
  | 'vite-manifest'
  | 'webpack-chunk-map'
  | 'import'
  | 'source-map-comment'
  | 'source-map-header'
  | 'source-map-guess';

export type FileKind = 'page' | 'script' | 'source-map' | 'manifest';

export interface FetchedFile {
  url: string;
  kind: FileKind;
  via: DiscoveryVia;
  /** The URL of the file that referenced this one. */
  from?: string;
  status?: number;
  /** Decoded bytes kept (at most the body bound). */
  bytes: number;
  truncated?: boolean;
  /** Why the fetch gave no usable body (network error, non-2xx status, HTML instead of JS, …). */
  error?: string;
}

/** Where in the site a secret was seen. */
export type SecretWhere = 'page' | 'script' | 'source-map' | 'exposed-file';

export interface ExposedSecret {
  where: SecretWhere;
  /** The URL of the file fetched. */
  url: string;
  /** For a key inside a source map's `sourcesContent`: the original source's name. */
  source?: string;
  /** 1-based, in the file (or in the original source for a source map). */
  line: number;
  column: number;
  ruleId: string;
  provider: string;
  title: string;
  severity: 'critical' | 'high' | 'medium' | 'low' | 'info';
  /** Short prefix + … + last 4. */
  redacted: string;
  fingerprint: string;
  revokeUrl?: string;
  /** How to revoke it when no page does (a command naming it). */
  revokeHow?: string;
  /** The text around the key on its line, with the key replaced by its redacted form. */
  context: string;
  /** A Google API key inside a Firebase web config: public by design, but it must be restricted. */
  firebaseConfig?: boolean;
}

export interface BrowserAiCall extends BrowserAiCallHit {
  url: string;
  where: SecretWhere;
  source?: string;
}

export interface SourceMapFact {
  /** The map's URL (a `data:` map is reported as the script's URL + `#inline-map`). */
  url: string;
  /** The script that pointed at it. */
  script: string;
  via: 'source-map-comment' | 'source-map-header' | 'source-map-guess';
  inline: boolean;
  sources: number;
  /** How many sources ship their full original code in `sourcesContent`. */
  sourcesWithContent: number;
  /** A few original source names, for the evidence. */
  sampleSources: string[];
}

export type ProbeCategory = 'env' | 'vcs' | 'credentials' | 'config' | 'backup' | 'server-info' | 'debug' | 'listing' | 'meta' | 'security-txt';

export interface ProbeResult {
  /** The probe's id, e.g. `git-head`; finding ids are built from it. */
  id: string;
  path: string;
  url: string;
  category: ProbeCategory;
  status?: number;
  bytes?: number;
  /** The content proved the file is what its path says (a hit). */
  confirmed: boolean;
  /** Why it was not counted: `catch-all` (same answer as a random path), `content` (did not look right), `status`, `error`. */
  rejected?: 'catch-all' | 'content' | 'status' | 'error';
  /** A short, masked excerpt of what proved it. */
  evidence?: string;
  error?: string;
}

/** What the site answers for a path that cannot exist: the yardstick for false alarms. */
export interface CatchAllAnswer {
  url: string;
  status?: number;
  length?: number;
  hash?: string;
  contentType?: string;
  error?: string;
}

export interface DirectoryListing {
  url: string;
  /** Which server's listing format was recognised. */
  server: string;
  evidence: string;
}

export type DebugTrigger = 'page' | 'not-found' | 'malformed-path' | 'malformed-body' | 'probe';

export interface DebugPage {
  url: string;
  trigger: DebugTrigger;
  status?: number;
  framework: string;
  /** `debugger` (interactive, code execution), `debug-page` (framework debug mode), `stack-trace`. */
  kind: 'debugger' | 'debug-page' | 'stack-trace';
  evidence: string;
}

export interface SecurityTxt {
  url: string;
  found: boolean;
  contacts: string[];
  expires?: string;
  expired?: boolean;
}

export interface ExposureFacts {
  /** Set when gathering failed as a whole. */
  error?: string;
  /** Every page, script, manifest and map fetched (or attempted), in discovery order. */
  files: FetchedFile[];
  secrets: ExposedSecret[];
  browserAiCalls: BrowserAiCall[];
  sourceMaps: SourceMapFact[];
  catchAll?: CatchAllAnswer;
  probes: ProbeResult[];
  directoryListings: DirectoryListing[];
  debugPages: DebugPage[];
  securityTxt?: SecurityTxt;
  /** Which bound stopped the crawl early, if any, and what was left out. */
  budget: { files: number; bytes: number; skipped: number; stoppedBy?: 'files' | 'bytes' | 'time' };
}
