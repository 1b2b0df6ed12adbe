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
