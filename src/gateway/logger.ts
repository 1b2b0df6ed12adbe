/**
 * The gateway's one logger factory (STYLE.md "Logs that cannot leak"): structured JSON (pino) that
 * always censors credential headers and masks anything the secrets engine recognises in messages and
 * string fields. Request bodies are never logged.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { redactText, type Engine } from '../secrets/index.js';

export type { Logger } from 'pino';

const SENSITIVE = ['authorization', 'cookie', '["x-api-key"]', '["x-goog-api-key"]', '["api-key"]', '["set-cookie"]', '["proxy-authorization"]'];
/** Exact paths (no wildcards: those cost on every line): top level, `headers`, `req.headers`, `res.headers`, `upstream.headers`. */
export const REDACT_PATHS = ['', 'headers.', 'req.headers.', 'res.headers.', 'upstream.headers.'].flatMap((prefix) =>
  SENSITIVE.map((k) => (prefix === '' ? k : k.startsWith('[') ? prefix.slice(0, -1) + k : prefix + k)),
);

/** Fields the gateway itself fills with values it made (ids, enums): nothing to mask. */
const OWN_FIELDS = new Set(['reqId', 'route', 'outcome', 'provider', 'svc', 'alert', 'signal', 'type']);

const CLEAN_MAX = 1024;

/**
 * The masking of one logger: the secrets engine's rules (a project's own added, with `engine`) over
 * string fields and messages.
 */
function masker(engine: Engine | undefined) {
  /**
   * Short strings the engine already found clean (model names, user names repeat on every line).
   * Only clean strings are kept, so no secret is ever held here; the set is dropped when it fills
   * up. One set per logger: a string clean by the built-in rules may not be by a project's own.
   */
  const clean = new Set<string>();
  const text = (v: string): string => redactText(v, engine);
  const field = (v: string): string => {
    if (v.length > 200) return text(v);
    if (clean.has(v)) return v;
    const r = text(v);
    if (r === v) {
      if (clean.size >= CLEAN_MAX) clean.clear();
      clean.add(v);
    }
    return r;
  };
  /** Masks what the engine recognises in string fields (two levels deep); numbers and booleans pass untouched. */
  const scrub = (obj: Record<string, unknown>, depth: number): Record<string, unknown> => {
    let out: Record<string, unknown> | undefined;
    for (const k in obj) {
      if (OWN_FIELDS.has(k)) continue;
      const v = obj[k];
      let w: unknown = v;
      if (typeof v === 'string') {
        if (v.length >= 8) w = field(v);
      } else if (depth > 0 && typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Error)) w = scrub(v as Record<string, unknown>, depth - 1);
      if (w !== v) (out ??= { ...obj })[k] = w;
    }
    return out ?? obj;
  };
  const json = (v: string): string => JSON.stringify(v.length >= 8 ? field(v) : v);
  return { text, scrub, json };
}

export interface LoggerOptions {
  level?: string;
  /** Where lines go (default stdout, batched). */
  destination?: DestinationStream;
  /**
   * A batched destination writes once its batch is queued (32 KiB); on a quiet gateway that could hold a line
   * for hours. This writes whatever is queued at least this often (ms; 0 = never). Default 1000.
   */
  flushMs?: number;
  /** The secrets engine with a project's own rules (the config's `promptSecretRules`), masked in lines too. */
  engine?: Engine;
}

/** The fields of the line every request writes. */
export interface AccessFields {
  reqId: string;
  user: string;
  route: string;
  model: string;
  status: number;
  outcome: string;
  tokensIn: number;
  tokensOut: number;
  costUsd: number;
  ms: number;
  tag?: string;
}

export type AccessLog = (f: AccessFields) => void;

const ACCESS = new WeakMap<Logger, AccessLog>();

/**
 * Writes the one line a request makes. For a logger made by createLogger it is built by hand: the
 * same JSON pino would write for `log.info(fields, 'request')`, with the same masking, at a fraction
 * of the cost (this line is the only one on the hot path). Any other logger gets `info` itself.
 */
export function accessLog(log: Logger): AccessLog {
  return ACCESS.get(log) ?? ((f) => log.info(f, 'request'));
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

type Batched = DestinationStream & { minLength?: number; flush?: (cb?: (err?: Error) => void) => void; flushSync?: () => void };

/**
 * Gathers lines and hands them to a batching destination a batch at a time. sonic-boom measures the
 * byte length of its whole pending buffer on every write, flattening a string of up to 16 KiB for
 * each line (5 µs a line here); given one string per batch, it pays that once per batch.
 */
class LineBatch implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;

  constructor(
    private readonly inner: Batched,
    private readonly min: number,
  ) {
    LIVE.add(this);
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.min) this.drain();
  }

  private drain(): void {
    if (this.lines.length === 0) return;
    const batch = this.lines.length === 1 ? this.lines[0]! : this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.inner.write(batch);
  }

  flush(cb?: (err?: Error) => void): void {
    this.drain();
    if (typeof this.inner.flush === 'function') this.inner.flush(cb);
    else cb?.();
  }

  flushSync(): void {
    this.drain();
    this.inner.flushSync?.();
  }
}

/** Batches whose lines must reach their destination if the process exits without flushing. */
const LIVE = new Set<LineBatch>();
process.once('exit', () => {
  for (const b of LIVE) {
    try {
      b.flushSync();
    } catch {
      // Already closed: nothing left to write to.
    }
  }
});

/** Bytes of log lines written at a time by batchedDestination. */
export const LOG_BATCH_BYTES = 32 * 1024;

/**
 * A file or descriptor written in batches of LOG_BATCH_BYTES, off the event loop. Each write is a
 * hand-off to libuv's thread pool, which costs the event loop 20–70 µs on a busy virtual machine:
 * 32 KiB batches (about 75 request lines) cost a request 12–15 µs of CPU less than 4 KiB ones did
 * (interleaved runs at 16 concurrent requests). The timer of createLogger and `flush()` on shutdown
 * write what a quiet gateway has not filled.
 */
export function batchedDestination(dest: string | number): DestinationStream {
  return pino.destination({ dest, sync: false, minLength: LOG_BATCH_BYTES, maxWrite: 2 * LOG_BATCH_BYTES });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const mask = masker(options.engine);
  const given: Batched = options.destination ?? batchedDestination(1);
  const destination: Batched = (given.minLength ?? 0) > 0 ? new LineBatch(given, given.minLength!) : given;
  let unwritten = false;
  const flushMs = options.flushMs ?? 1000;
  if (flushMs > 0 && typeof destination.flush === 'function') {
    setInterval(() => {
      if (!unwritten) return;
      unwritten = false;
      try {
        destination.flush!();
      } catch {
        // Destroyed (the process is shutting down): nothing left to write to.
      }
    }, flushMs).unref();
  }
  const logger = pino(
    {
      level: options.level ?? 'info',
      base: { svc: 'keyward-gateway' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          unwritten = true;
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === 'string' && a.length >= 8) args[i] = mask.text(a);
          }
          method.apply(this, args);
        },
      },
      formatters: {
        log: (obj) => mask.scrub(obj, 2),
      },
      serializers: {
        err: (e: unknown) => {
          const o = (typeof e === 'object' && e !== null ? e : {}) as { name?: unknown; code?: unknown; message?: unknown };
          const message = typeof o.message === 'string' ? o.message : String(e);
          return { type: typeof o.name === 'string' ? o.name : typeof e, code: typeof o.code === 'string' ? o.code : undefined, message: mask.text(message) };
        },
      },
    },
    destination,
  );
  const info = pino.levels.values.info!;
  ACCESS.set(logger, (f) => {
    if (logger.levelVal > info) return;
    unwritten = true;
    destination.write(
      `{"level":${info},"time":${Date.now()},"svc":"keyward-gateway","reqId":${JSON.stringify(f.reqId)},"user":${mask.json(f.user)},"route":${JSON.stringify(f.route)},"model":${mask.json(f.model)},"status":${jsonNumber(f.status)},"outcome":${JSON.stringify(f.outcome)},"tokensIn":${jsonNumber(f.tokensIn)},"tokensOut":${jsonNumber(f.tokensOut)},"costUsd":${jsonNumber(f.costUsd)},"ms":${jsonNumber(f.ms)},${f.tag !== undefined ? `"tag":${mask.json(f.tag)},` : ''}"msg":"request"}\n`,
    );
  });
  return logger;
}
