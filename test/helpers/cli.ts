/**
 * Runs the BUILT command line (`node dist/cli/main.js …`) as a user would, so tests cover argument
 * parsing, output and exit status. Build first: `npx tsc -p tsconfig.build.json` (npm test does).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const KEYWARD_MAIN = resolve(import.meta.dirname, '../../dist/cli/main.js');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to stdin, which is then closed (stdin is always closed, never a TTY). */
  input?: string | Buffer;
  /** Added to the environment; NO_COLOR and FORCE_COLOR are removed unless given here. */
  env?: Record<string, string | undefined>;
  cwd?: string;
}

export function runKeyward(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  if (!existsSync(KEYWARD_MAIN)) throw new Error(`${KEYWARD_MAIN} is missing: run \`npx tsc -p tsconfig.build.json\` first`);
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: undefined, FORCE_COLOR: undefined, ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [KEYWARD_MAIN, ...args], { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) =>
      resolveRun({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    child.stdin.on('error', () => undefined); // the command may exit before reading all of stdin
    child.stdin.end(options.input ?? '');
  });
}

/** A long-running `keyward gateway` (or other server command) started from the built CLI. */
export interface KeywardServer {
  /** What it printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Sends SIGTERM and resolves with the exit status. */
  stop(): Promise<number | null>;
  /** Sends a signal (SIGHUP: reload) and resolves once stderr has grown past what it was. */
  signal(sig: NodeJS.Signals): Promise<string>;
}

/** Starts the built CLI and resolves once stderr says `listening on`; rejects if it exits first. */
export async function startKeyward(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<KeywardServer> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  const child = spawn(process.execPath, [KEYWARD_MAIN, ...args], { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  await new Promise<void>((ok, fail) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.includes('listening on')) ok();
    });
    child.once('exit', (c) => fail(new Error(`keyward ${args[0]} exited ${c}: ${stderr}`)));
  });
  const exited = new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (c) => r(c))));
  return {
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    stop() {
      child.kill('SIGTERM');
      return exited;
    },
    signal(sig) {
      const before = stderr.length;
      child.kill(sig);
      return new Promise<string>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`nothing on stderr after ${sig}`)), 10_000);
        const check = () => {
          if (stderr.length > before && stderr.endsWith('\n')) {
            clearTimeout(timer);
            child.stderr.off('data', check);
            ok(stderr.slice(before));
          }
        };
        child.stderr.on('data', check);
      });
    },
  };
}
