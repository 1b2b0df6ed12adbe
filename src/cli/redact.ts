/**
 * `keyward redact`: copies standard input to standard output line by line with every secret the
 * engine recognises masked (`sk-proj-…abcd`), for piping logs: `tail -f app.log | keyward redact`.
 */
import { pipeline } from 'node:stream/promises';
import { KeywardError } from '../errors.js';
import { createRedactStream } from '../secrets/index.js';

const HELP = `Usage: keyward redact < input > output

Copy standard input to standard output with every secret masked, line by line
(e.g. sk-proj-…abcd). For logs: tail -f app.log | keyward redact
Exit status: 0 done, 2 usage or read/write error.
`;

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  if (argv.length > 0)
    throw new KeywardError('KW_USAGE', `'keyward redact' takes no arguments (got '${argv[0]}')`, { hint: 'pipe the text in: keyward redact < app.log > app.redacted.log' });
  try {
    await pipeline(process.stdin, createRedactStream(), process.stdout);
  } catch (e) {
    // A reader that went away (`keyward redact < log | head`) is not a failure.
    if ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return 0;
    throw new KeywardError('KW_FILE', `cannot copy standard input to standard output: ${(e as Error).message}`, { cause: e });
  }
  return 0;
}
