/**
 * What is never reported, whatever the rule: documentation example keys published by the
 * providers themselves, and files that only ever hold hashes. Per-rule allowlists live in the rule;
 * a line with a `keyward:allow` comment is skipped by the engine.
 */

export const GLOBAL_ALLOWLIST = {
  /** Matched against the secret. */
  secrets: [
    /EXAMPLE/, // AWS documentation keys (AKIA…EXAMPLE, wJalr…EXAMPLEKEY)
    /^sk_test_4eC39HqLyjWDarjtT1zdp7dc$/, // Stripe's documentation test key
  ] as readonly RegExp[],
  /** Matched against the path given in ScanTextOptions. */
  paths: [/(?:^|[\\/])\.git[\\/](?:objects|refs|logs)[\\/]/] as readonly RegExp[],
};

/** The inline marker: a line containing it is not scanned for secrets. */
export const INLINE_ALLOW = 'keyward:allow';
