import { looksRandom } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token } from './util.js';

const random = (s: string, prefix: number) => looksRandom(s.slice(prefix));

export const huggingfaceRules: SecretRule[] = [
  {
    id: 'huggingface-token',
    provider: 'Hugging Face',
    title: 'Hugging Face access token',
    severity: 'critical',
    keywords: ['hf_'],
    pattern: token('hf_[A-Za-z]{34}'),
    verify: (s) => random(s, 3),
    revokeUrl: 'https://huggingface.co/settings/tokens',
    examples: {
      match: [`HF_TOKEN=hf_${rand.chars('letters', 34)}`, `login(token="hf_${rand.chars('letters', 34)}")`],
      noMatch: ['HF_TOKEN=hf_...', 'hf_' + 'transformersModelConfigurationLoad', `hf_${rand.chars('letters', 30)}`],
    },
  },
  {
    id: 'huggingface-org-token',
    provider: 'Hugging Face',
    title: 'Hugging Face organization API token',
    severity: 'critical',
    keywords: ['api_org_'],
    pattern: token('api_org_[A-Za-z]{34}'),
    verify: (s) => random(s, 8),
    revokeUrl: 'https://huggingface.co/settings/tokens',
    examples: { match: [`HUGGINGFACE_ORG_TOKEN=api_org_${rand.chars('letters', 34)}`], noMatch: ['api_org_yourOrganizationTokenGoesRightHere'] },
  },
];
