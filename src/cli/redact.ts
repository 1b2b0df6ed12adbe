/**
 * `keyward redact`: copies standard input to standard output line by line with every secret the
 * engine recognises masked (`sk-proj-…abcd`), for piping logs: `tail -f app.log | keyward redact`.
 */
import { existsSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { KeywardError } from '../errors.js';
import { createRedactStream, engineWith, loadRules, RULES_FILE } from '../secrets/index.js';

const HELP = `Usage: keyward redact [--rules <file> | --no-rules] < input > output

Copy standard input to standard output with every secret masked, line by line
(e.g. sk-proj-…abcd). For logs: tail -f app.log | keyward redact
Your own rules: ${RULES_FILE} in the working directory when it exists, or --rules <file>.
Exit status: 0 done, 2 usage or read/write error.
`;

/** `--rules FILE`, `--no-rules`, or nothing (the rules file of the working directory when there is one). */
function rulesFileOf(argv: string[]): string | undefined {
  if (argv.length === 0) return existsSync(RULES_FILE) ? RULES_FILE : undefined;
  if (argv.length === 1 && argv[0] === '--no-rules') return undefined;
  if (argv.length === 2 && argv[0] === '--rules' && argv[1] !== undefined && !argv[1].startsWith('-')) return argv[1];
  if (argv.length === 1 && argv[0]!.startsWith('--rules=')) return argv[0]!.slice('--rules='.length);
  throw new KeywardError('KW_USAGE', `'keyward redact' takes only --rules <file> or --no-rules (got '${argv.join(' ')}')`, { hint: 'pipe the text in: keyward redact < app.log > app.redacted.log' });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(HELP);
    return 0;
  }
  const rulesFile = rulesFileOf(argv);
  const engine = rulesFile !== undefined ? engineWith(loadRules(rulesFile)) : undefined;
  try {
    await pipeline(process.stdin, createRedactStream({ engine }), process.stdout);
  } catch (e) {
    // A reader that went away (`keyward redact < log | head`) is not a failure.
    if ((e as NodeJS.ErrnoException).code === 'EPIPE' || (e as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') return 0;
    throw new KeywardError('KW_FILE', `cannot copy standard input to standard output: ${(e as Error).message}`, { cause: e });
  }
  return 0;
}
