/** What the exposure gathering found: scripts, source maps, probe paths, error pages. */
export interface ExposureFacts {
  /** Set when gathering failed as a whole. */
  error?: string;
}
