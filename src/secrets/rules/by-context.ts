/**
 * AI providers whose keys have no prefix (Mistral, Cohere, DeepInfra, DeepSeek's plain hex,
 * ElevenLabs' older keys, Pinecone's older UUIDs): reported only next to the provider's name.
 */
import { looksRandom, shannonEntropy } from '../checks.js';
import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { NEAR, token } from './util.js';

/** Mixed-case alphanumerics: a value of only lowercase hex is a hash, not one of these keys. */
const mixed = (s: string) => looksRandom(s) && !/^[0-9a-f]+$/.test(s);
const uuid = () => `${rand.chars('hex', 8)}-${rand.chars('hex', 4)}-4${rand.chars('hex', 3)}-a${rand.chars('hex', 3)}-${rand.chars('hex', 12)}`;

export const byContextRules: SecretRule[] = [
  {
    id: 'mistral-api-key',
    provider: 'Mistral AI',
    title: 'Mistral AI API key (named as Mistral)',
    severity: 'critical',
    keywords: ['mistral'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[A-Za-z0-9]{32}'),
    verify: mixed,
    revokeUrl: 'https://console.mistral.ai/api-keys',
    examples: {
      match: [`MISTRAL_API_KEY=${rand.chars('alnum', 32)}`, `client = Mistral(api_key="${rand.chars('alnum', 32)}")`],
      noMatch: [`MISTRAL_API_KEY=${rand.chars('alnum', 31)}`, 'model: mistral-large-latest # mistralLargeLatestModelNameHere', `API_KEY=${rand.chars('alnum', 32)}`],
    },
  },
  {
    id: 'cohere-api-key',
    provider: 'Cohere',
    title: 'Cohere API key (named as Cohere)',
    severity: 'critical',
    keywords: ['cohere', 'co_api_key'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[A-Za-z0-9]{40}'),
    verify: mixed,
    revokeUrl: 'https://dashboard.cohere.com/api-keys',
    examples: {
      match: [`COHERE_API_KEY=${rand.chars('alnum', 40)}`, `co = cohere.ClientV2("${rand.chars('alnum', 40)}")`],
      noMatch: [`COHERE_API_KEY=${rand.chars('hex', 40)}`, `cohere commit ${rand.chars('hex', 40)}`],
    },
  },
  {
    id: 'deepseek-api-key',
    provider: 'DeepSeek',
    title: 'DeepSeek API key (named as DeepSeek)',
    severity: 'critical',
    keywords: ['deepseek'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('sk-[a-f0-9]{32}'),
    revokeUrl: 'https://platform.deepseek.com/api_keys',
    examples: {
      match: [`DEEPSEEK_API_KEY=sk-${rand.chars('hex', 32)}`, `OpenAI(api_key="sk-${rand.chars('hex', 32)}", base_url="https://api.deepseek.com")`],
      noMatch: ['DEEPSEEK_API_KEY=sk-...', `DEEPSEEK_API_KEY=sk-${rand.chars('hex', 20)}`],
    },
  },
  {
    id: 'deepinfra-api-key',
    provider: 'DeepInfra',
    title: 'DeepInfra API key (named as DeepInfra)',
    severity: 'critical',
    keywords: ['deepinfra'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[A-Za-z0-9]{32}'),
    verify: mixed,
    revokeUrl: 'https://deepinfra.com/dash/api_keys',
    examples: { match: [`DEEPINFRA_API_KEY=${rand.chars('alnum', 32)}`], noMatch: [`DEEPINFRA_API_KEY=${rand.chars('lowerAlnum', 12)}`] },
  },
  {
    id: 'elevenlabs-api-key',
    provider: 'ElevenLabs',
    title: 'ElevenLabs API key',
    severity: 'critical',
    keywords: ['sk_'],
    pattern: token('sk_[a-f0-9]{48}'),
    revokeUrl: 'https://elevenlabs.io/app/settings/api-keys',
    examples: { match: [`ELEVENLABS_API_KEY=sk_${rand.chars('hex', 48)}`, `"xi-api-key": "sk_${rand.chars('hex', 48)}"`], noMatch: [`sk_${rand.chars('hex', 32)}`, 'sk_live_...'] },
  },
  {
    id: 'elevenlabs-api-key-legacy',
    provider: 'ElevenLabs',
    title: 'ElevenLabs API key (32 hex, named as ElevenLabs)',
    severity: 'high',
    keywords: ['elevenlabs', 'xi-api-key', 'xi_api_key'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[a-f0-9]{32}'),
    revokeUrl: 'https://elevenlabs.io/app/settings/api-keys',
    examples: { match: [`ELEVENLABS_API_KEY=${rand.chars('hex', 32)}`], noMatch: [`ELEVENLABS_VOICE_ID=${rand.chars('alnum', 20)}`] },
  },
  {
    id: 'langsmith-api-key',
    provider: 'LangChain',
    title: 'LangSmith / LangChain API key',
    severity: 'high',
    keywords: ['lsv2_', 'ls__'],
    pattern: token('lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}|ls__[a-f0-9]{32}'),
    revokeUrl: 'https://smith.langchain.com/settings',
    examples: {
      match: [`LANGSMITH_API_KEY=lsv2_pt_${rand.chars('hex', 32)}_${rand.chars('hex', 10)}`, `LANGCHAIN_API_KEY=ls__${rand.chars('hex', 32)}`],
      noMatch: ['LANGSMITH_API_KEY=lsv2_pt_...', `lsv2_pt_${rand.chars('hex', 20)}`],
    },
  },
  {
    id: 'pinecone-api-key',
    provider: 'Pinecone',
    title: 'Pinecone API key',
    severity: 'high',
    keywords: ['pcsk_'],
    pattern: token('pcsk_[A-Za-z0-9]{4,8}_[A-Za-z0-9]{50,80}'),
    verify: (s) => shannonEntropy(s) >= 4,
    revokeUrl: 'https://app.pinecone.io/',
    examples: { match: [`PINECONE_API_KEY=pcsk_${rand.chars('alnum', 5)}_${rand.chars('alnum', 63)}`], noMatch: ['PINECONE_API_KEY=pcsk_...'] },
  },
  {
    id: 'pinecone-api-key-legacy',
    provider: 'Pinecone',
    title: 'Pinecone API key (UUID, named as Pinecone)',
    severity: 'high',
    keywords: ['pinecone'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}'),
    revokeUrl: 'https://app.pinecone.io/',
    examples: { match: [`PINECONE_API_KEY=${uuid()}`], noMatch: [`request_id=${uuid()}`] },
  },
];
