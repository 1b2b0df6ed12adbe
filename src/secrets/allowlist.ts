/**
 * What is never reported, whatever the rule: documentation example keys published by the
 * providers themselves, and files that only ever hold hashes. Per-rule allowlists live in the rule;
 * a line with a `keyward:allow` comment is skipped by the engine.
 */

export const GLOBAL_ALLOWLIST = {
  /** Matched against the secret. */
  secrets: [
    /EXAMPLE/, // AWS documentation keys (AKIA…EXAMPLE, wJalr…EXAMPLEKEY)
    /^wJalrXUtnFEMI\/K7MDENG/, // the same AWS example secret, cut short (quoted in pieces, truncated in docs)
    /^sk_test_4eC39HqLyjWDarjtT1zdp7dc$/, // Stripe's documentation test key
    // Example tokens printed in the OAuth RFCs (5849, 6749, 7009) and copied into many libraries' docs.
    /^(?:2YotnFZFEjr1zCsicMWpAA|tGzv3JOkF0XG5Qx2TlKWIA|SplxlOBeZQQYbYS6WxSbIA|45ghiukldjahdnhzdauz|ad180jjd733klru7|nnch734d00sl2jdk|hh5s93j4hdidpola|kd94hf93k423kf44|pfkkdhi9sl3r4s00|dh893hdasih9|j49sk3j29djd|mF_9\.B5f-4\.1JqM)$/,
  ] as readonly RegExp[],
  /** Matched against the path given in ScanTextOptions. */
  paths: [/(?:^|[\\/])\.git[\\/](?:objects|refs|logs)[\\/]/] as readonly RegExp[],
};

/** The inline marker: a line containing it is not scanned for secrets. */
export const INLINE_ALLOW = 'keyward:allow';
