/**
 * Errors a program can catch: a stable `code`, a message that says what went wrong and a
 * hint that says what to do. The CLI prints message and hint and exits with `exitCode`
 * (0 clean, 1 findings at or above the threshold, 2 usage or runtime error).
 */

export type ErrorCode =
  | 'KW_USAGE'
  | 'KW_BAD_URL'
  | 'KW_DNS'
  | 'KW_UNREACHABLE'
  | 'KW_TIMEOUT'
  | 'KW_TLS'
  | 'KW_TOO_LARGE'
  | 'KW_TOO_MANY_REDIRECTS'
  | 'KW_BAD_RESPONSE'
  | 'KW_SSRF_BLOCKED'
  | 'KW_BAD_CONFIG'
  | 'KW_FILE'
  | 'KW_ARCHIVE'
  | 'KW_GIT'
  | 'KW_STORE'
  | 'KW_UNSAFE_ENV_FILE'
  | 'KW_INTERNAL';

export class KeywardError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeywardError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 2;
  }
}

/** Duck-typed so that errors from self-contained modules (secrets/) qualify too. */
export function isKeywardError(e: unknown): e is { code: string; message: string; hint?: string; exitCode?: number } {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && (e as { code: string }).code.startsWith('KW_');
}
