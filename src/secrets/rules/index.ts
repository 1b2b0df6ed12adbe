/** The rule registry: adding a provider is one file and one line here. Order breaks ties. */
import type { SecretRule } from '../types.js';
import { anthropicRules } from './anthropic.js';
import { awsRules } from './aws.js';
import { azureRules } from './azure.js';
import { byContextRules } from './by-context.js';
import { databaseRules } from './database.js';
import { devopsRules } from './devops.js';
import { genericRules } from './generic.js';
import { githubRules } from './github.js';
import { googleRules } from './google.js';
import { groqRules } from './groq.js';
import { huggingfaceRules } from './huggingface.js';
import { inferenceHostRules } from './inference-hosts.js';
import { jwtRules } from './jwt.js';
import { keywardRules } from './keyward.js';
import { messagingRules } from './messaging.js';
import { openaiRules } from './openai.js';
import { privateKeyRules } from './private-key.js';

export const RULES: readonly SecretRule[] = Object.freeze([
  ...openaiRules,
  ...anthropicRules,
  ...googleRules,
  ...azureRules,
  ...awsRules,
  ...groqRules,
  ...keywardRules,
  ...huggingfaceRules,
  ...inferenceHostRules,
  ...byContextRules,
  ...githubRules,
  ...devopsRules,
  ...messagingRules,
  ...privateKeyRules,
  ...databaseRules,
  ...jwtRules,
  ...genericRules,
]);
