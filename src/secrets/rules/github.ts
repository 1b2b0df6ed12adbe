import { charClasses, hasCrc32Checksum } from '../checks.js';
import { checksummedToken, rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

const REVOKE = 'https://github.com/settings/tokens';

export const githubRules: SecretRule[] = [
  {
    // The last 6 characters are a base62 CRC32 of the 30 before them: a typo or a look-alike fails it.
    id: 'github-token',
    provider: 'GitHub',
    title: 'GitHub token (personal, OAuth, app or refresh)',
    severity: 'high',
    keywords: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_'],
    pattern: token('gh[pousr]_[A-Za-z0-9]{36}'),
    verify: (s) => hasCrc32Checksum(s, 4),
    revokeUrl: REVOKE,
    examples: {
      match: [`GITHUB_TOKEN=${checksummedToken('ghp_')}`, `git clone https://x-access-token:${checksummedToken('ghs_')}@github.com/o/r.git`],
      noMatch: [
        'GITHUB_TOKEN=ghp_...',
        // Right shape, wrong checksum.
        `GITHUB_TOKEN=ghp_${rand.chars('alnum', 30)}000000`,
      ],
    },
  },
  {
    id: 'github-fine-grained-token',
    provider: 'GitHub',
    title: 'GitHub fine-grained personal access token',
    severity: 'high',
    keywords: ['github_pat_'],
    pattern: token('github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}'),
    verify: (s) => charClasses(s.slice(11)) === 3,
    revokeUrl: 'https://github.com/settings/personal-access-tokens',
    examples: {
      match: [`GH_TOKEN=github_pat_${rand.chars('alnum', 22)}_${rand.chars('alnum', 59)}`],
      noMatch: ['GH_TOKEN=github_pat_...', `github_pat_${rand.chars('alnum', 22)}`],
    },
  },
];
