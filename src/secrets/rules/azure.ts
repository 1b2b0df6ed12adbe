import { rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { NEAR, token } from './util.js';

const REVOKE = 'https://portal.azure.com/#view/Microsoft_Azure_ProjectOxford/CognitiveServicesHub/~/OpenAI';

/**
 * Azure AI services keys minted since 2024: 84 characters with the fixed `JQQJ9` signature at
 * offset 52 (Microsoft's common annotated key format).
 */
function annotated(): string {
  return (
    rand.chars('alnum', 52) + 'JQQJ9' + rand.pick(['9', 'D', 'H']) + rand.chars('alnum', 1) + rand.pick([...'ABCDEFGHIJKL']) +
    rand.chars('alnum', 16) + rand.chars('letters', 1) + rand.chars('alnum', 7)
  );
}

export const azureRules: SecretRule[] = [
  {
    id: 'azure-ai-services-key',
    provider: 'Azure',
    title: 'Azure AI services / Azure OpenAI key (84 characters)',
    severity: 'critical',
    keywords: ['JQQJ9'],
    window: { before: 60, after: 40 },
    pattern: token('[A-Za-z0-9]{52}JQQJ9[9DH][A-Za-z0-9][A-L][A-Za-z0-9]{16}[A-Za-z][A-Za-z0-9]{7}'),
    revokeUrl: REVOKE,
    examples: {
      match: [`AZURE_OPENAI_API_KEY=${annotated()}`, `{"api-key": "${annotated()}"}`],
      noMatch: ['AZURE_OPENAI_API_KEY=' + rand.chars('alnum', 52) + 'JQQJ9' + 'Z' + rand.chars('alnum', 26)],
    },
  },
  {
    id: 'azure-storage-account-key',
    provider: 'Azure',
    title: 'Azure storage account key (connection string)',
    severity: 'critical',
    keywords: ['AccountKey='],
    window: { before: 0, after: 110 },
    pattern: /AccountKey=(?<secret>[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])/g,
    revokeUrl: 'https://portal.azure.com/#browse/Microsoft.Storage%2FStorageAccounts',
    examples: {
      match: [`AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${rand.chars('base64', 86)}==;EndpointSuffix=core.windows.net"`],
      // The storage emulator's key is published by Microsoft (the global allowlist drops it), and a stub is no key.
      noMatch: ['AccountKey=<your-account-key>;', 'DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=;'],
    },
  },
  {
    // Older Azure OpenAI / Cognitive Services keys are 32 hex characters with nothing to tell
    // them apart from a hash: reported only when Azure is named nearby.
    id: 'azure-openai-key',
    provider: 'Azure',
    title: 'Azure OpenAI / Cognitive Services key (32 hex, named as Azure)',
    severity: 'high',
    keywords: ['azure', 'cognitiveservices', 'ocp-apim-subscription-key'],
    context: true,
    assigned: true,
    window: NEAR,
    pattern: token('[a-fA-F0-9]{32}'),
    revokeUrl: REVOKE,
    examples: {
      match: [
        `AZURE_OPENAI_API_KEY=${rand.chars('hex', 32)}\nAZURE_OPENAI_ENDPOINT=https://contoso.openai.azure.com/`,
        `const client = new AzureOpenAI({ endpoint, apiKey: "${rand.chars('hex', 32)}" });`,
        `Ocp-Apim-Subscription-Key: ${rand.chars('hex', 32)}`,
      ],
      noMatch: [
        `AZURE_OPENAI_API_KEY=${rand.chars('hex', 31)}`,
        // A 32-hex value with no Azure in sight is just a hash.
        `etag: "${rand.chars('hex', 32)}"`,
        `AZURE_CLIENT_ID=${rand.chars('hex', 8)}-${rand.chars('hex', 4)}-${rand.chars('hex', 4)}-${rand.chars('hex', 4)}-${rand.chars('hex', 12)}`,
      ],
    },
  },
];
