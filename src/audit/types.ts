/**
 * The audit contract. The runner gathers the project once (its files, including git-ignored
 * build output and `.env` files; its git facts; its keyward config), reads each file at most
 * once and hands the text to every check that wants it. A check is one file and one registry line.
 */
import type { Finding } from '../finding.js';
import type { GitFacts } from './git.js';
import type { KeywardConfig } from './config.js';
import type { Engine } from '../secrets/engine.js';

export interface ProjectFile {
  /** POSIX path relative to the project root, e.g. `apps/web/.env.local`. */
  path: string;
  /** Absolute path on disk. */
  abs: string;
  /** Size in bytes when the lister knew it (git's listing does not; the reader checks it then). */
  size?: number;
  /** True when a `.gitignore` hides it: still audited, since build output and `.env` files usually are. */
  ignored: boolean;
}

export interface AuditContext {
  /** Absolute project root. */
  readonly root: string;
  readonly files: readonly ProjectFile[];
  /** Undefined when the project is not a git repository or git is missing. */
  readonly git: GitFacts | undefined;
  readonly config: KeywardConfig | undefined;
  readonly now: Date;
  /** The current user's uid (POSIX only). */
  readonly uid: number | undefined;
  /** Records a problem that did not stop the audit (unreadable file, skipped huge file …). */
  warn(message: string): void;
  /** Reads a file's text once; undefined for binary, unreadable or oversized files (a warning says why). */
  readText(file: ProjectFile): Promise<string | undefined>;
  /** The secrets engine with the project's own rules (`.keyward-rules.json`); undefined: the built-in rules alone. */
  readonly engine?: Engine;
}

export interface AuditCheck {
  /** Stable id; every finding id of this check starts with it. */
  readonly id: string;
  readonly title: string;
  /** Files whose text the check inspects; the runner reads each file once for all checks. */
  wants?(file: ProjectFile): boolean;
  inspect?(file: ProjectFile, text: string, ctx: AuditContext): Finding[] | Promise<Finding[]>;
  /** Project-wide part (file modes, git history, config), run once. */
  project?(ctx: AuditContext): Promise<Finding[]>;
}

export interface AuditOptions {
  /** Only these check ids (default: all). */
  checks?: readonly string[];
  /** Rotation period for key age, in days (default 90, or `rotationDays` from keyward.config). */
  rotationDays?: number;
  /** Clock for key age (tests). */
  now?: Date;
  /** Largest file read, in bytes (default 64 MiB: big source maps); bigger files are skipped with a warning. */
  maxFileBytes?: number;
  /** A rules file of the project's own secrets (default: `.keyward-rules.json` at the root when it exists); false: the built-in rules alone. */
  rules?: string | false;
}

export interface AuditResult {
  root: string;
  findings: Finding[];
  /** Problems met on the way (unreadable files, symlink loops, broken .gitignore …), in plain words. */
  warnings: string[];
  filesSeen: number;
  filesRead: number;
}

/** Where each audit result is documented. */
export function auditDocs(id: string): string {
  return `https://github.com/keyward/keyward/blob/main/docs/audit.md#${id}`;
}
