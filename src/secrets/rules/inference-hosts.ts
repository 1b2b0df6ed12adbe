/** Inference hosts with their own prefixed keys: Replicate, Perplexity, xAI, OpenRouter, Together, Fireworks. */
import { looksRandom } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { NEAR, token } from './util.js';

const random = (prefix: number) => (s: string) => looksRandom(s.slice(prefix));

export const inferenceHostRules: SecretRule[] = [
  {
    id: 'replicate-api-token',
    provider: 'Replicate',
    title: 'Replicate API token',
    severity: 'critical',
    keywords: ['r8_'],
    pattern: token('r8_[A-Za-z0-9]{37}'),
    verify: random(3),
    revokeUrl: 'https://replicate.com/account/api-tokens',
    examples: { match: [`REPLICATE_API_TOKEN=r8_${rand.chars('alnum', 37)}`], noMatch: ['REPLICATE_API_TOKEN=r8_...', `r8_${rand.chars('alnum', 20)}`] },
  },
  {
    id: 'perplexity-api-key',
    provider: 'Perplexity',
    title: 'Perplexity API key',
    severity: 'critical',
    keywords: ['pplx-'],
    pattern: token('pplx-[A-Za-z0-9]{40,64}'),
    verify: random(5),
    revokeUrl: 'https://www.perplexity.ai/settings/api',
    examples: {
      match: [`PERPLEXITY_API_KEY=pplx-${rand.chars('alnum', 48)}`, `pplx_key: "pplx-${rand.chars('hex', 48)}"`],
      noMatch: ['PERPLEXITY_API_KEY=pplx-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', `pplx-${rand.chars('alnum', 20)}`],
    },
  },
  {
    id: 'xai-api-key',
    provider: 'xAI',
    title: 'xAI (Grok) API key',
    severity: 'critical',
    keywords: ['xai-'],
    pattern: token('xai-[A-Za-z0-9]{80}'),
    verify: random(4),
    revokeUrl: 'https://console.x.ai/',
    examples: { match: [`XAI_API_KEY=xai-${rand.chars('alnum', 80)}`], noMatch: ['XAI_API_KEY=xai-...', `xai-${rand.chars('alnum', 60)}`] },
  },
  {
    id: 'openrouter-api-key',
    provider: 'OpenRouter',
    title: 'OpenRouter API key',
    severity: 'critical',
    keywords: ['sk-or-v1-'],
    pattern: token('sk-or-v1-[a-f0-9]{64}'),
    revokeUrl: 'https://openrouter.ai/settings/keys',
    examples: { match: [`OPENROUTER_API_KEY=sk-or-v1-${rand.chars('hex', 64)}`], noMatch: ['OPENROUTER_API_KEY=sk-or-v1-...', `sk-or-v1-${rand.chars('hex', 40)}`] },
  },
  {
    id: 'together-api-key',
    provider: 'Together AI',
    title: 'Together AI API key',
    severity: 'critical',
    keywords: ['tgp_v1_'],
    pattern: token('tgp_v1_[A-Za-z0-9_-]{40,64}'),
    verify: random(7),
    revokeUrl: 'https://api.together.ai/settings/api-keys',
    examples: { match: [`TOGETHER_API_KEY=tgp_v1_${rand.chars('base64url', 43)}`], noMatch: ['TOGETHER_API_KEY=tgp_v1_<key>', `tgp_v1_${rand.chars('alnum', 20)}`] },
  },
  {
    // Together's older keys are 64 hex characters with no prefix.
    id: 'together-api-key-legacy',
    provider: 'Together AI',
    title: 'Together AI API key (64 hex, named as Together)',
    severity: 'high',
    keywords: ['together'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[a-f0-9]{64}'),
    revokeUrl: 'https://api.together.ai/settings/api-keys',
    examples: { match: [`TOGETHER_API_KEY=${rand.chars('hex', 64)}`], noMatch: [`sha256=${rand.chars('hex', 64)}`, `TOGETHER_API_KEY=${rand.chars('hex', 40)}`] },
  },
  {
    id: 'nvidia-api-key',
    provider: 'NVIDIA',
    title: 'NVIDIA API key (build.nvidia.com / NIM)',
    severity: 'critical',
    keywords: ['nvapi-'],
    pattern: token('nvapi-[A-Za-z0-9_-]{60,70}'),
    verify: random(6),
    revokeUrl: 'https://build.nvidia.com/settings/api-keys',
    examples: { match: [`NVIDIA_API_KEY=nvapi-${rand.chars('base64url', 64)}`], noMatch: ['NVIDIA_API_KEY=nvapi-...', `nvapi-${rand.chars('alnum', 20)}`] },
  },
  {
    id: 'fireworks-api-key',
    provider: 'Fireworks AI',
    title: 'Fireworks AI API key',
    severity: 'critical',
    keywords: ['fw_'],
    pattern: token('fw_[A-Za-z0-9]{20,48}'),
    verify: random(3),
    revokeUrl: 'https://fireworks.ai/account/api-keys',
    examples: {
      match: [`FIREWORKS_API_KEY=fw_${rand.chars('alnum', 24)}`, `api_key="fw_${rand.chars('alnum', 24)}"`],
      noMatch: ['FIREWORKS_API_KEY=fw_...', 'fw_' + 'firmwareUpdateDescriptorTable', 'fw_version_string_for_release'],
    },
  },
];
