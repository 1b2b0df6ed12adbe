/** Bounds on what an archive may expand to: an app bundle is opened in memory, a zip bomb is not. */
export interface ArchiveLimits {
  /** Largest archive file read into memory (bytes). */
  maxArchiveBytes: number;
  /** Largest single entry, once expanded (bytes). */
  maxEntryBytes: number;
  /** Most bytes one archive, nested archives included, may expand to. */
  maxTotalBytes: number;
  /** Most entries one archive, nested archives included, may hold. */
  maxEntries: number;
  /** Highest expansion ratio allowed for an entry (or gzip stream) past 1 MiB: zip bombs run at 1000:1. */
  maxRatio: number;
  /** How deep archives may nest (an .ipa inside a .zip is depth 2; a .tgz counts 2, gzip then tar). */
  maxDepth: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = {
  maxArchiveBytes: 512 * MiB,
  maxEntryBytes: 256 * MiB,
  maxTotalBytes: 2048 * MiB,
  maxEntries: 200_000,
  maxRatio: 200,
  maxDepth: 5,
};

/** Entries smaller than this are never judged by ratio: small text files compress extremely well. */
export const RATIO_FLOOR_BYTES = MiB;
