/**
 * An upload (multipart/form-data: an audio file to transcribe, images to edit) read with undici's own
 * form parser, and the bytes that go upstream: the client's, untouched, unless a text field must
 * change (an alias in `model`, a secret redacted from `prompt`), when the form is rebuilt.
 */
import type { File } from 'node:buffer';
import { FormData, Request, Response } from 'undici';
import { badRequest } from './http-error.js';

export interface UploadedFile {
  bytes: Buffer;
  type: string;
  name: string;
}

export class Upload {
  private constructor(
    private readonly form: FormData,
    /** The body as it goes upstream: the client's bytes, or the form rebuilt after a change. */
    public body: Buffer,
    public contentType: string,
  ) {}

  /**
   * Reads a multipart/form-data body; anything else, or a body that is not one, is a clear 400.
   * `parts` says what the route's form holds, for that message.
   */
  static async read(raw: Buffer, contentType: string | undefined, parts: string): Promise<Upload> {
    if (contentType === undefined || !/^multipart\/form-data\b/i.test(contentType)) {
      throw badRequest(`send multipart/form-data with ${parts} (the OpenAI SDKs do)`);
    }
    let form: FormData;
    try {
      form = (await new Response(raw, { headers: { 'content-type': contentType } }).formData()) as FormData;
    } catch {
      throw badRequest('the multipart/form-data body could not be read (a wrong boundary, or a body cut short); send it again');
    }
    return new Upload(form, raw, contentType);
  }

  /** A form of text fields, built here (a WebRTC call's offer, as OpenAI takes it). */
  static async of(fields: Record<string, string>): Promise<Upload> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    const u = new Upload(form, Buffer.alloc(0), '');
    await u.rebuild();
    return u;
  }

  /** A text field, or undefined when absent (a file where text is expected is refused). */
  field(name: string): string | undefined {
    const v = this.form.get(name);
    if (v === null) return undefined;
    if (typeof v !== 'string') throw badRequest(`'${name}' must be a text field, not a file`);
    return v;
  }

  /** The `model` text field, which every upload must name (so it can be checked and priced). */
  model(): string {
    const model = this.field('model');
    if (model === undefined || model === '') throw badRequest("'model' is required (a text field of the form)");
    return model;
  }

  /** A `true`/`false` text field (`stream`); absent is false. */
  flag(name: string): boolean {
    const v = this.field(name);
    if (v !== undefined && v !== 'true' && v !== 'false') throw badRequest(`'${name}' must be true or false`);
    return v === 'true';
  }

  /** The one file part `name` (what it is for, in the message when it is missing). */
  async file(name: string, what: string): Promise<UploadedFile> {
    const f = this.form.get(name);
    if (f === null || typeof f === 'string') throw badRequest(`'${name}' is required: ${what}, as a file part of the form`);
    return read(name, f);
  }

  /** Every file part named `name` or `name[]` (how the SDKs send a list), in order; text parts there are refused. */
  async files(name: string): Promise<UploadedFile[]> {
    const parts = [...this.form.getAll(name), ...this.form.getAll(`${name}[]`)];
    const out: UploadedFile[] = [];
    for (const p of parts) {
      if (typeof p === 'string') throw badRequest(`'${name}' must be a file part of the form, not text`);
      out.push(await read(name, p));
    }
    return out;
  }

  /** Changes a text field; the body is rebuilt with a new boundary. */
  async set(name: string, value: string): Promise<void> {
    this.form.set(name, value);
    await this.rebuild();
  }

  /** Replaces a file part (a batch's requests as the gateway sends them); the body is rebuilt with a new boundary. */
  async setFile(name: string, file: UploadedFile): Promise<void> {
    this.form.set(name, new Blob([file.bytes], { type: file.type }), file.name);
    await this.rebuild();
  }

  private async rebuild(): Promise<void> {
    const r = new Request('http://127.0.0.1/', { method: 'POST', body: this.form });
    this.body = Buffer.from(await r.arrayBuffer());
    this.contentType = r.headers.get('content-type')!;
  }
}

async function read(name: string, f: File): Promise<UploadedFile> {
  if (f.size === 0) throw badRequest(`'${name}' is empty`);
  return { bytes: Buffer.from(await f.arrayBuffer()), type: f.type, name: f.name };
}
