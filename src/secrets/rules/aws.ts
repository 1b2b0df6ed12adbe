import { charClasses, decodeBase64, shannonEntropy } from '../checks.js';
import { b64, rand } from '../examples.js';
import type { SecretRule } from '../types.js';
import { token, tokenWith } from './util.js';

const REVOKE = 'https://console.aws.amazon.com/iam/home#/security_credentials';

function absk(): string {
  return 'ABSK' + b64('BedrockAPIKey-' + rand.chars('lowerAlnum', 4) + '-at-' + rand.chars('digits', 12) + ':' + rand.chars('base64', 44));
}
function shortTerm(): string {
  const url = 'bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=' +
    'ASIA' + rand.chars('upperAlnum', 16) + '%2F20260101%2Fus-east-1%2Fbedrock%2Faws4_request&X-Amz-Date=20260101T000000Z' +
    '&X-Amz-Expires=43200&X-Amz-Security-Token=' + rand.chars('base64', 300) + '&X-Amz-Signature=' + rand.chars('hex', 64) + '&Version=1';
  return 'bedrock-api-key-' + b64(url);
}

export const awsRules: SecretRule[] = [
  {
    id: 'aws-access-key-id',
    provider: 'AWS',
    title: 'AWS access key ID',
    severity: 'high',
    keywords: ['AKIA', 'ASIA', 'ABIA', 'ACCA'],
    pattern: token('(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}'),
    revokeUrl: REVOKE,
    examples: {
      match: [`AWS_ACCESS_KEY_ID=AKIA${rand.chars('base32', 16)}`, `aws_access_key_id = ASIA${rand.chars('base32', 16)}`],
      noMatch: ['AWS_ACCESS_KEY_ID=AKIA' + 'IOSFODNN7' + 'EXAMPLE', 'AKIA' + rand.chars('base32', 10), 'AKIA' + rand.chars('base32', 20)],
    },
  },
  {
    // The secret half of an AWS key pair (also what signs Bedrock calls) has no prefix: 40
    // base64 characters, reported only next to an AWS name.
    id: 'aws-secret-access-key',
    provider: 'AWS',
    title: 'AWS secret access key',
    severity: 'critical',
    keywords: ['aws', 'secret_access_key', 'secretaccesskey', 'bedrock'],
    context: true,
    assigned: true,
    window: { before: 80, after: 200 },
    pattern: tokenWith('[A-Za-z0-9/+]{40}', 'A-Za-z0-9/+', 'A-Za-z0-9/+='),
    verify: (s) => charClasses(s) === 3 && shannonEntropy(s) >= 4.3 && !/^[a-f0-9]+$/i.test(s),
    revokeUrl: REVOKE,
    examples: {
      match: [
        `aws_access_key_id = AKIA${rand.chars('base32', 16)}\naws_secret_access_key = ${rand.chars('base64', 40)}`,
        `AWS_SECRET_ACCESS_KEY="${rand.chars('base64', 40)}"`,
      ],
      noMatch: [
        'AWS_SECRET_ACCESS_KEY=' + 'wJalrXUtn' + 'FEMI/K7MDENG/bPxRfiCY' + 'EXAMPLEKEY',
        // A git commit hash near "aws" is not a secret.
        `aws-sdk bumped in commit ${rand.chars('hex', 40)}`,
        `aws_secret_access_key = ${rand.chars('base64', 39)}`,
      ],
    },
  },
  {
    id: 'aws-bedrock-api-key',
    provider: 'AWS',
    title: 'Amazon Bedrock long-term API key',
    severity: 'critical',
    keywords: ['ABSK'],
    window: { before: 8, after: 420 },
    pattern: tokenWith('ABSK[A-Za-z0-9+/]{60,400}={0,2}', 'A-Za-z0-9+/', 'A-Za-z0-9+/='),
    verify: (s) => decodeBase64(s.slice(4, 4 + 20)).startsWith('BedrockAPIKey-'),
    revokeUrl: 'https://console.aws.amazon.com/bedrock/home#/api-keys',
    examples: {
      match: [`AWS_BEARER_TOKEN_BEDROCK=${absk()}`, `"Authorization": "Bearer ${absk()}"`],
      noMatch: ['AWS_BEARER_TOKEN_BEDROCK=ABSK...', 'ABSK' + b64('Something else entirely, not a key at all: ' + rand.chars('alnum', 30))],
    },
  },
  {
    id: 'aws-bedrock-short-term-key',
    provider: 'AWS',
    title: 'Amazon Bedrock short-term API key',
    severity: 'high',
    keywords: ['bedrock-api-key-'],
    window: { before: 0, after: 4200 },
    pattern: tokenWith('bedrock-api-key-[A-Za-z0-9+/]{100,4000}={0,2}', 'A-Za-z0-9+/', 'A-Za-z0-9+/='),
    verify: (s) => decodeBase64(s.slice(16, 16 + 28)).startsWith('bedrock.amazonaws.com'),
    revokeUrl: 'https://console.aws.amazon.com/iam/home#/security_credentials',
    examples: {
      match: [`export AWS_BEARER_TOKEN_BEDROCK=${shortTerm()}`],
      noMatch: ['export AWS_BEARER_TOKEN_BEDROCK=bedrock-api-key-<token>', 'bedrock-api-key-' + b64('not.amazonaws.com/' + rand.chars('alnum', 100))],
    },
  },
];
