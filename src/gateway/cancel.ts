/**
 * A cheap cancellation token for upstream calls: undici accepts any EventEmitter that emits 'abort'
 * as a request signal, and building one costs a fraction of an AbortController on Node 20.
 */
import { EventEmitter } from 'node:events';

export class Cancel extends EventEmitter {
  aborted = false;

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    this.emit('abort');
  }

  /** Waits `ms`, ending early (with an AbortError) when cancelled. */
  sleep(ms: number): Promise<void> {
    if (this.aborted) return Promise.reject(abortError());
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError());
      };
      const timer = setTimeout(() => {
        this.off('abort', onAbort);
        resolve();
      }, ms);
      this.once('abort', onAbort);
    });
  }
}

function abortError(): Error {
  const e = new Error('the client went away');
  e.name = 'AbortError';
  return e;
}
