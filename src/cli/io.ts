import { isKeywardError } from '../errors.js';

/** Prints an error as `keyward: message` plus its hint, and returns the exit status to use. */
export function fail(err: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (isKeywardError(err)) {
    stderr.write(`keyward: ${err.message}\n`);
    if (err.hint) stderr.write(`  hint: ${err.hint}\n`);
    return err.exitCode ?? 2;
  }
  if (err instanceof Error && (err as { code?: string }).code?.startsWith('commander.')) {
    // commander already printed its message.
    return 2;
  }
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  stderr.write(`keyward: unexpected error: ${message}\n  hint: this is a bug in keyward; please report it with the command you ran.\n`);
  return 2;
}
