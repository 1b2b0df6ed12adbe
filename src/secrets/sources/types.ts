import type { SecretMatch } from '../types.js';
import type { ArchiveLimits } from './limits.js';
import type { Engine } from '../engine.js';

/** A secret seen by a source, with where it was seen. */
export interface SourceMatch {
  /** The engine's match; `line`/`column` are already those of the file (or of the added line, for git). */
  match: SecretMatch;
  /** Display path: as given on the command line, `a.apk!/classes.dex` inside archives, `-` for stdin. */
  file: string;
  /** For strings read out of a binary: the byte offset of the secret; line and column do not apply. */
  byteOffset?: number;
  /** Git history: the commit that added the line, and its author date (ISO 8601). */
  commit?: string;
  date?: string;
}

export type SkipReason = 'binary' | 'unreadable' | 'damaged-archive' | 'unsupported-compression' | 'archives-off';

/** What a scan went through, for the summary line. */
export interface SourceStats {
  files: number;
  bytes: number;
  archiveEntries: number;
  commits: number;
  skipped: Record<SkipReason, number>;
}

export function newStats(): SourceStats {
  return { files: 0, bytes: 0, archiveEntries: 0, commits: 0, skipped: { binary: 0, unreadable: 0, 'damaged-archive': 0, 'unsupported-compression': 0, 'archives-off': 0 } };
}

export interface SourceOptions {
  /** Report `info` findings (JWTs). */
  includeInfo?: boolean;
  /** Honour .gitignore (default true). */
  gitignore?: boolean;
  /** Open archives (default true); off, they are skipped like other binaries. */
  archives?: boolean;
  limits?: Partial<ArchiveLimits>;
  /** Called for every file or entry not scanned, with the reason. */
  onSkip?: (file: string, reason: SkipReason, detail?: string) => void;
  /** Filled in as the scan goes. */
  stats?: SourceStats;
  /** The rules to scan with (default: the built-in ones). */
  engine?: Engine;
}
