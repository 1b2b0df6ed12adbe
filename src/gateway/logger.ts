/**
 * The gateway's one logger factory (STYLE.md "Logs that cannot leak"): structured JSON (pino) that
 * always censors credential headers and masks anything the secrets engine recognises in messages and
 * string fields. Request bodies are never logged.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactText } from '../secrets/index.js';

export type { Logger } from 'pino';

export const REDACT_PATHS = [
  'authorization',
  'cookie',
  '["x-api-key"]',
  '["api-key"]',
  '["set-cookie"]',
  '*.authorization',
  '*.cookie',
  '*["x-api-key"]',
  '*["api-key"]',
  '*["set-cookie"]',
  '*.*.authorization',
  '*.*.cookie',
  '*.*["x-api-key"]',
  '*.*["api-key"]',
  '*.*["set-cookie"]',
];

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactText(value);
  if (depth > 0 && typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth - 1);
    return out;
  }
  return value;
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default stdout). */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { svc: 'keyward-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactText(args[i] as string);
          method.apply(this, args);
        },
      },
      formatters: {
        log: (obj) => scrub(obj, 2) as Record<string, unknown>,
      },
      serializers: {
        err: (e: unknown) => {
          const o = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; code?: unknown; message?: unknown };
          const message = typeof o.message === 'string' ? o.message : String(e);
          return { type: typeof o.name === 'string' ? o.name : typeof e, code: typeof o.code === 'string' ? o.code : undefined, message: redactText(message) };
        },
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
