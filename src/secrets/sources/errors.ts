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

/**
 * An archive that cannot be read (damaged, truncated, or not what its first bytes promised). Unlike
 * a limit being hit, this does not end the scan: the archive is skipped and reported as damaged.
 */
export class DamagedArchiveError extends SourceError {
  /** What is wrong, without the archive's name: "not a readable zip archive (invalid zip data)". */
  readonly detail: string;

  constructor(name: string, detail: string, cause?: unknown) {
    super('KW_ARCHIVE', `cannot read '${name}': ${detail}`, { hint: 'the archive is damaged or truncated; skip archives with --no-archives', cause });
    this.detail = detail;
  }
}
