/**
 * `auditProject(dir)`: gathers the project once (files incl. git-ignored ones, git facts, config),
 * reads each file at most once, hands its text to every check that wants it, then runs the
 * project-wide parts. Problems that do not stop the audit become warnings, never crashes.
 */
import { closeSync, constants as fsConstants, existsSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { KeywardError } from '../errors.js';
import { sortByImpact, type Finding } from '../finding.js';
import { engineWith, loadRules, RULES_FILE } from '../secrets/custom-rules.js';
import { detectKind, SNIFF_BYTES } from '../secrets/sources/detect.js';
import { auditChecks } from './checks/index.js';
import { loadConfig } from './config.js';
import { listGitProject, walkProject } from './files.js';
import { gatherGit } from './git.js';
import type { AuditCheck, AuditContext, AuditOptions, AuditResult, ProjectFile } from './types.js';

const MiB = 1024 * 1024;

function sizeText(n: number): string {
  return n >= MiB ? `${Math.round(n / MiB)} MiB` : n >= 1024 ? `${Math.round(n / 1024)} KiB` : `${n} bytes`;
}

function errText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const why: Record<string, string> = { EACCES: 'permission denied', EPERM: 'not permitted', ENOENT: 'it vanished', EISDIR: 'it is a folder', ELOOP: 'a symbolic link loop', EIO: 'an I/O error' };
  return err.code ? `${err.code}, ${why[err.code] ?? err.message}` : String(e);
}

async function checkRoot(dir: string): Promise<string> {
  const root = resolve(dir);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new KeywardError('KW_FILE', `folder '${dir}' does not exist`, { hint: 'give the path of your project folder, e.g. `keyward audit .` in its root' });
    }
    if (code === 'ELOOP') throw new KeywardError('KW_FILE', `'${dir}' is a symbolic link that loops`, { hint: 'give the real path of the project folder' });
    throw new KeywardError('KW_FILE', `folder '${dir}' cannot be opened (${errText(e)})`, { hint: 'check its permissions' });
  }
  if (!st.isDirectory()) {
    throw new KeywardError('KW_USAGE', `'${dir}' is a file, not a folder`, { hint: 'keyward audit checks a project folder; to look for keys in one file, use `keyward secrets <file>`' });
  }
  try {
    await readdir(root);
  } catch (e) {
    throw new KeywardError('KW_FILE', `folder '${dir}' cannot be read (${errText(e)})`, { hint: 'run the audit as a user who can read the project, or fix its permissions' });
  }
  return root;
}

export async function auditProject(dir: string, options: AuditOptions = {}): Promise<AuditResult> {
  const root = await checkRoot(dir);
  const warnings: string[] = [];
  const seenWarnings = new Set<string>();
  const warn = (m: string) => {
    if (seenWarnings.has(m)) return;
    seenWarnings.add(m);
    warnings.push(m);
  };
  const maxFileBytes = options.maxFileBytes ?? 64 * MiB;

  const config = await loadConfig(root);
  const git = await gatherGit(root, warn);
  const files = (git ? await listGitProject(root, warn) : undefined) ?? (await walkProject(root, warn));

  const read = new Set<string>();
  async function readText(file: ProjectFile): Promise<string | undefined> {
    let buf: Buffer;
    let fd: number | undefined;
    try {
      // Never through a symbolic link (git lists them), and never blocking on a FIFO: O_NOFOLLOW
      // and O_NONBLOCK, then only regular files are read. Synchronous on purpose: tens of thousands
      // of small files read one after the other cost far less than the promise API's thread-pool
      // round trips.
      fd = openSync(file.abs, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
      const st = fstatSync(fd);
      if (!st.isFile()) return undefined;
      if (st.size > maxFileBytes) {
        warn(`${file.path}: skipped, larger than ${sizeText(maxFileBytes)} (${sizeText(st.size)})`);
        return undefined;
      }
      buf = readFileSync(fd);
    } catch (e) {
      // ELOOP: a symbolic link, which is not followed (a link's target is audited where it lives).
      if ((e as NodeJS.ErrnoException).code !== 'ELOOP') warn(`${file.path}: skipped, cannot be read (${errText(e)})`);
      return undefined;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    read.add(file.path);
    const kind = detectKind(buf.subarray(0, SNIFF_BYTES));
    if (kind === 'utf16') return buf.toString('utf16le');
    return kind === 'text' ? buf.toString('utf8') : undefined;
  }

  // As `keyward secrets` does, the project's own rules apply without being named.
  const rulesFile = options.rules === undefined ? (existsSync(join(root, RULES_FILE)) ? join(root, RULES_FILE) : undefined) : options.rules || undefined;
  const engine = rulesFile !== undefined ? engineWith(loadRules(rulesFile)) : undefined;
  const ctx: AuditContext = { root, files, git, config, now: options.now ?? new Date(), uid: process.getuid?.(), warn, readText, ...(engine ? { engine } : {}) };
  const wanted = new Set(options.checks ?? []);
  const checks = auditChecks(options).filter((c) => wanted.size === 0 || wanted.has(c.id));
  const findings: Finding[] = [];

  await checkIgnoreFiles(files, warn);

  // Each file is read once, for all the checks that want it.
  for (const f of files) {
    const these = checks.filter((c) => c.inspect && c.wants?.(f));
    if (these.length === 0) continue;
    const text = await readText(f);
    if (text === undefined) continue;
    for (const c of these) findings.push(...(await runInspect(c, f, text, ctx)));
  }

  for (const c of checks) if (c.project) findings.push(...(await c.project(ctx)));

  return { root, findings: order(findings), warnings, filesSeen: files.length, filesRead: read.size };
}

/** The walker skips a .gitignore it cannot read; say so, since files it should hide may then be reported. */
async function checkIgnoreFiles(files: readonly ProjectFile[], warn: (m: string) => void): Promise<void> {
  const folders = new Set<string>();
  for (const f of files) {
    const dir = /^(.*?\.gitignore)\//.exec(f.path)?.[1];
    if (dir && !folders.has(dir)) {
      folders.add(dir);
      warn(`${dir} is a folder, not a file: git ignores nothing through it; replace it with a .gitignore file`);
    }
    if (!/(?:^|\/)\.gitignore$/.test(f.path)) continue;
    try {
      const buf = await readFile(f.abs);
      if (detectKind(buf.subarray(0, SNIFF_BYTES)) !== 'text') warn(`${f.path} is not a text file: its ignore rules may not be what you expect; rewrite it as plain text`);
    } catch (e) {
      warn(`${f.path} cannot be read (${errText(e)}): its ignore rules were not applied, so files it should hide may be reported`);
    }
  }
}

async function runInspect(c: AuditCheck, f: ProjectFile, text: string, ctx: AuditContext): Promise<Finding[]> {
  try {
    return await c.inspect!(f, text, ctx);
  } catch (e) {
    // One odd file must not end the audit; the warning says which check and file, so it can be reported.
    ctx.warn(`${f.path}: the ${c.id} check failed on it (${(e as Error).message})`);
    return [];
  }
}

/** Worst first, then by file and line, so that reports are stable across runs. */
function order(findings: Finding[]): Finding[] {
  const byPlace = [...findings].sort((a, b) => {
    const fa = a.location?.file ?? '';
    const fb = b.location?.file ?? '';
    return fa < fb ? -1 : fa > fb ? 1 : (a.location?.line ?? 0) - (b.location?.line ?? 0);
  });
  return sortByImpact(byPlace);
}
