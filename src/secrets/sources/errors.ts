/**
 * Errors raised by the sources. `secrets/` may not import src/errors.ts (DESIGN.md), so this class
 * repeats the shape of `KeywardError` (code, hint, exitCode); the CLI recognises it by its `KW_` code.
 */
export type SourceErrorCode = 'KW_FILE' | 'KW_ARCHIVE' | 'KW_GIT' | 'KW_USAGE';

export class SourceError extends Error {
  readonly code: SourceErrorCode;
  readonly hint?: string;
  readonly exitCode = 2;

  constructor(code: SourceErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KeywardError';
    this.code = code;
    this.hint = options.hint;
  }
}
