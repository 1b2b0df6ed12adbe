/**
 * Reading blobs out of git with one `git cat-file --batch` process: the binary files a diff only
 * names ("Binary files … differ"), such as a committed APK, jar or iOS binary, are fetched by id
 * and scanned like files (archives opened, strings read).
 */
import { spawn } from 'node:child_process';
import { SourceError } from './errors.js';

export interface Blob {
  id: string;
  /** The content, or undefined when the blob is missing or larger than the limit. */
  data?: Buffer;
  size: number;
}

/** A byte queue over a stream, for git's header-then-body protocol. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private readonly it: AsyncIterator<Buffer>;

  constructor(stream: AsyncIterable<Buffer>) {
    this.it = stream[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.length < n) {
      const r = await this.it.next();
      if (r.done) throw new SourceError('KW_GIT', 'git cat-file ended early', { hint: 'check that the repository is not damaged (git fsck)' });
      this.chunks.push(r.value);
      this.length += r.value.length;
    }
  }

  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  async line(): Promise<string> {
    for (;;) {
      let seen = 0;
      for (const c of this.chunks) {
        const i = c.indexOf(10);
        if (i >= 0) {
          const text = this.take(seen + i + 1).toString('utf8');
          return text.slice(0, -1);
        }
        seen += c.length;
      }
      await this.fill(this.length + 1);
    }
  }

  async bytes(n: number): Promise<Buffer> {
    await this.fill(n);
    return Buffer.from(this.take(n)); // a copy: the queue's buffer may be large
  }
}

/** Reads blobs by id, one at a time, in the order given. Blobs over `maxBytes` are read past, not kept. */
export async function* readBlobs(cwd: string, ids: Iterable<string>, maxBytes: number): AsyncGenerator<Blob> {
  const child = spawn('git', ['cat-file', '--batch'], { cwd, stdio: ['pipe', 'pipe', 'ignore'] });
  const failed = new Promise<never>((_, reject) => child.on('error', (e) => reject(new SourceError('KW_GIT', `cannot run git cat-file: ${e.message}`, { cause: e }))));
  failed.catch(() => undefined);
  const reader = new ByteReader(child.stdout as AsyncIterable<Buffer>);
  try {
    for (const id of ids) {
      child.stdin.write(`${id}\n`);
      const header = await Promise.race([reader.line(), failed]);
      const [, type, sizeText] = header.split(' ');
      if (type !== 'blob') {
        yield { id, size: 0 }; // "<id> missing", or not a blob
        if (type !== undefined && type !== 'missing') await reader.bytes(Number(sizeText) + 1);
        continue;
      }
      const size = Number(sizeText);
      if (size <= maxBytes) {
        const data = await reader.bytes(size);
        await reader.bytes(1); // the newline after each object
        yield { id, data, size };
      } else {
        for (let left = size + 1; left > 0; left -= Math.min(left, 1 << 20)) await reader.bytes(Math.min(left, 1 << 20));
        yield { id, size };
      }
    }
  } finally {
    child.stdin.end();
    child.kill();
  }
}
