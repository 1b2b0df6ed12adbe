#!/usr/bin/env node
/**
 * The `keyward` entry point. Commands are loaded lazily, one module each, so that
 * `keyward scan` never pays for loading the gateway (cold start matters in CI).
 */
import { fail } from './io.js';

interface CommandEntry {
  summary: string;
  load: () => Promise<{ run: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, CommandEntry> = {
  scan: { summary: 'grade a website and find AI keys exposed in its client-side code', load: () => import('./scan.js') },
  secrets: { summary: 'find AI keys and other secrets in files, git history, logs and app bundles', load: () => import('./secrets.js') },
  redact: { summary: 'copy stdin to stdout with every secret masked', load: () => import('./redact.js') },
  audit: { summary: "check a project's key hygiene (.env, public env prefixes, build output)", load: () => import('./audit.js') },
  gateway: { summary: 'run the backend proxy that keeps provider keys server-side', load: () => import('./gateway.js') },
  users: { summary: 'manage gateway users (add, list, set, disable, enable)', load: () => import('./users.js') },
  tokens: { summary: 'issue, rotate and revoke gateway tokens', load: () => import('./tokens.js') },
  usage: { summary: 'show gateway usage from the ledger', load: () => import('./usage.js') },
  budgets: { summary: 'show every budget the gateway enforces and what is spent of it this period', load: () => import('./budgets.js') },
  history: { summary: 'show who changed which gateway users and tokens, and when', load: () => import('./history.js') },
  demo: { summary: 'start a deliberately weak local site, scan it and print the report', load: () => import('./demo.js') },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `Usage: keyward <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun \`keyward <command> --help\` for a command's options.\nExit status: 0 clean, 1 findings at or above the threshold, 2 usage or runtime error.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    const { VERSION } = await import('../version.js');
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!entry) {
    process.stderr.write(`keyward: unknown command '${name}'\n\n${help()}`);
    return 2;
  }
  const mod = await entry.load();
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.exitCode = fail(err);
  },
);
