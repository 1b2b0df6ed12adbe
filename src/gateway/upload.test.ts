import { describe, expect, it } from 'vitest';
import { Upload } from './upload.js';

const PARTS = 'a `file` and a `model` field';

async function form(build: (f: FormData) => void): Promise<Upload> {
  const f = new FormData();
  build(f);
  const r = new Request('http://127.0.0.1/', { method: 'POST', body: f });
  return Upload.read(Buffer.from(await r.arrayBuffer()), r.headers.get('content-type')!, PARTS);
}

const blob = (s: string, type = 'image/png') => new Blob([Buffer.from(s)], { type });

describe('Upload', () => {
  it('rebuilds the form when a field changes, the files untouched', async () => {
    const u = await form((f) => {
      f.set('model', 'listen');
      f.set('prompt', 'hi');
      f.set('file', blob('clip bytes', 'audio/wav'), 'a.wav');
    });
    await u.set('model', 'whisper-1');
    const again = await Upload.read(u.body, u.contentType, PARTS);
    expect(again.field('model')).toBe('whisper-1');
    expect(again.field('prompt')).toBe('hi');
    expect(await again.file('file', 'the audio')).toEqual({ bytes: Buffer.from('clip bytes'), type: 'audio/wav', name: 'a.wav' });
  });

  it('reads a list of files sent as `name[]` (as the SDKs send one) or under the plain name, in order', async () => {
    const u = await form((f) => {
      f.append('image[]', blob('one'), 'one.png');
      f.append('image[]', blob('two'), 'two.png');
    });
    expect((await u.files('image')).map((x) => x.bytes.toString())).toEqual(['one', 'two']);
    const single = await form((f) => f.set('image', blob('only'), 'only.png'));
    expect((await single.files('image')).map((x) => x.name)).toEqual(['only.png']);
    expect(await single.files('mask')).toEqual([]);
  });

  it('refuses text where a file belongs, a file where text belongs, an empty file and a missing one, naming the part', async () => {
    const u = await form((f) => {
      f.set('image', 'not a file');
      f.set('model', blob('x'), 'm.png');
      f.set('mask', blob(''), 'empty.png');
    });
    await expect(u.files('image')).rejects.toThrow("'image' must be a file part of the form, not text");
    expect(() => u.field('model')).toThrow("'model' must be a text field, not a file");
    await expect(u.files('mask')).rejects.toThrow("'mask' is empty");
    await expect(u.file('file', 'the audio to transcribe')).rejects.toThrow("'file' is required: the audio to transcribe, as a file part of the form");
  });

  it('refuses a body that is not multipart/form-data, or not a readable one, saying what the form should hold', async () => {
    await expect(Upload.read(Buffer.from('{}'), 'application/json', PARTS)).rejects.toThrow('send multipart/form-data with a `file` and a `model` field (the OpenAI SDKs do)');
    await expect(Upload.read(Buffer.from('{}'), undefined, PARTS)).rejects.toThrow(/send multipart\/form-data/);
    await expect(Upload.read(Buffer.from('nothing'), 'multipart/form-data; boundary=abc', PARTS)).rejects.toThrow(/could not be read/);
    await expect(Upload.read(Buffer.from('nothing'), 'multipart/form-data', PARTS)).rejects.toThrow(/could not be read/);
  });
});
