/** Provider keys for the gateway tests: the shared fake keys, built from parts at run time. */
export { fakeAnthropicKey, fakeGeminiKey, fakeOpenAiKey, randomChars } from '../../helpers/fake-keys.js';
