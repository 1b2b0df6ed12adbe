/** Developer platform tokens: GitLab, npm, PyPI. */
import { looksRandom } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

export const devopsRules: SecretRule[] = [
  {
    id: 'gitlab-token',
    provider: 'GitLab',
    title: 'GitLab token',
    severity: 'high',
    keywords: ['glpat-', 'gldt-', 'glrt-', 'glptt-', 'glft-', 'glsoat-', 'glcbt-', 'glimt-', 'glagent-'],
    pattern: token('gl(?:pat|dt|rt|ptt|ft|soat|cbt|imt|agent)-[A-Za-z0-9_-]{20,64}(?:\\.[0-9a-z]{2}\\.[0-9a-z]{9})?'),
    verify: (s) => looksRandom(s.slice(s.indexOf('-') + 1)),
    revokeUrl: 'https://gitlab.com/-/user_settings/personal_access_tokens',
    examples: { match: [`GITLAB_TOKEN=glpat-${rand.chars('base64url', 20)}`, `CI_TOKEN: glrt-${rand.chars('alnum', 20)}`], noMatch: ['GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx', 'glpat-' + rand.chars('alnum', 10)] },
  },
  {
    id: 'npm-token',
    provider: 'npm',
    title: 'npm access token',
    severity: 'high',
    keywords: ['npm_'],
    pattern: token('npm_[A-Za-z0-9]{36}'),
    verify: (s) => looksRandom(s.slice(4)),
    revokeUrl: 'https://www.npmjs.com/settings/~/tokens',
    examples: { match: [`//registry.npmjs.org/:_authToken=npm_${rand.chars('alnum', 36)}`], noMatch: ['//registry.npmjs.org/:_authToken=${NPM_TOKEN}', 'npm_' + 'configurationForThePublishingWorkflow'] },
  },
  {
    // A PyPI token is a macaroon whose base64 begins with the encoded `pypi.org` location.
    id: 'pypi-token',
    provider: 'PyPI',
    title: 'PyPI upload token',
    severity: 'high',
    keywords: ['pypi-AgEIcHlwaS5vcmc', 'pypi-AgENdGVzdC5weXBpLm9yZw'],
    window: { before: 8, after: 440 },
    pattern: token('pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,400}'),
    revokeUrl: 'https://pypi.org/manage/account/token/',
    examples: { match: [`password = pypi-AgEIcHlwaS5vcmc${rand.chars('base64url', 120)}`], noMatch: ['password = pypi-AgEIcHlwaS5vcmc...'] },
  },
];
