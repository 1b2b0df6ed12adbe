import { describe, expect, it } from 'vitest';
import { gemini, geminiModelId, geminiModelsPath, geminiText } from './gemini.js';

describe('the Gemini provider', () => {
  it("answers the app route with the first candidate's text, its thought parts left out", () => {
    const answer = { candidates: [{ content: { parts: [{ text: 'weighing it up…', thought: true }, { text: 'Hello' }, { functionCall: { name: 'f' } }, { text: ', world' }] } }, { content: { parts: [{ text: 'second candidate' }] } }] };
    expect(geminiText(answer)).toBe('Hello, world');
    expect(geminiText({})).toBe('');
  });

  it("lists models under the API version the caller used, passing on only the paging parameters", () => {
    expect(geminiModelsPath('/v1beta/models')).toBe('/v1beta/models');
    expect(geminiModelsPath('/v1/models?pageSize=5&pageToken=abc&key=leaked&fields=x')).toBe('/v1/models?pageSize=5&pageToken=abc');
    expect(geminiModelsPath(`/v1beta/models?pageToken=${'t'.repeat(2000)}`)).toBe(`/v1beta/models?pageToken=${'t'.repeat(512)}`);
  });

  it('names models as the other APIs do', () => {
    expect(geminiModelId('models/gemini-2.5-flash')).toBe('gemini-2.5-flash');
    expect(geminiModelId('gemini-2.5-flash')).toBe('gemini-2.5-flash');
  });

  it('reads usage from usageMetadata: thinking as output, tool-use prompts as input; a chunk before any output reports input only', () => {
    expect(gemini.usageFromJson({ usageMetadata: { promptTokenCount: 10, toolUsePromptTokenCount: 2, candidatesTokenCount: 5, thoughtsTokenCount: 20 } })).toEqual({ tokensIn: 12, tokensOut: 25 });
    expect(gemini.usageFromJson({ candidates: [] })).toBeUndefined();
    expect(gemini.usageFromEvent({ usageMetadata: { promptTokenCount: 10 } })).toEqual({ tokensIn: 10 });
    expect(gemini.usageFromEvent({ usageMetadata: { promptTokenCount: 10, thoughtsTokenCount: 3 } })).toEqual({ tokensIn: 10, tokensOut: 3 });
  });

  it("answers errors in Google's shape, with the gateway's error type as the reason", () => {
    expect(JSON.parse(gemini.errorBody(429, 'rate_limit_exceeded', 'slow down'))).toEqual({
      error: { code: 429, message: 'slow down', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'rate_limit_exceeded', domain: 'keyward' }] },
    });
    expect(JSON.parse(gemini.errorBody(418, 'x', 'y')).error.status).toBe('FAILED_PRECONDITION');
    expect(JSON.parse(gemini.errorBody(507, 'x', 'y')).error.status).toBe('INTERNAL');
  });
});
