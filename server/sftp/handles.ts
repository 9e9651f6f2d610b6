import type { Readable } from 'node:stream';
import type { FileStream } from '../docker/file-agent.js';
import { KuraError } from '../lib/errors.js';
import { SMALL_FILE_BYTES, type EnvironmentFiles } from '../services/environment-files.js';

/**
 * An open file read from the start or any offset: one stream from the container, reopened
 * only when the client jumps. OpenSSH reads ahead with many requests in flight; they are
 * served in order (see `serial` in session.ts).
 */
export class FileReader {
  private stream: FileStream | null = null;
  private position = 0;

  constructor(private readonly files: EnvironmentFiles, private readonly path: string) {}

  /** Up to `length` bytes at `offset`, or null at the end of the file. */
  async read(offset: number, length: number): Promise<Buffer | null> {
    if (!this.stream || offset !== this.position) {
      this.stream?.close();
      this.stream = await this.files.read(this.path, offset);
      this.position = offset;
    }
    const chunk = await pull(this.stream.output, length);
    if (!chunk) {
      const result = await this.stream.done();
      this.files.streamOutcome(result, this.path);
      return null;
    }
    this.position += chunk.length;
    return chunk;
  }

  close(): void {
    this.stream?.close();
    this.stream = null;
  }
}

/**
 * An open file being written. Writes must run from the start (or on from the file's end,
 * for a resumed upload): SFTP clients send them that way, and the bytes stream through one
 * process. A small file is held until it is closed and goes in one command; a larger one
 * streams in batches of SMALL_FILE_BYTES (fewer, larger writes to the node: a write error,
 * such as a full disk, is answered to the next request or the close).
 */
export class FileWriter {
  private position: number | null = null;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private stream: FileStream | null = null;
  private failure: KuraError | null = null;
  private append: boolean;

  /** `size`: where the file ends as opened (0 when created or emptied): a resumed upload writes on from there. */
  constructor(private readonly files: EnvironmentFiles, private readonly path: string, private readonly size: number) {
    this.append = false;
  }

  async write(offset: number, data: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.position === null) {
      if (offset === 0) this.append = false;
      else if (offset === this.size) this.append = true;
      else throw jump();
      this.position = offset;
    }
    if (offset !== this.position) throw jump();
    this.position += data.length;
    // Kept without a copy: ssh2 gives each packet a buffer of its own and never reuses it.
    this.held.push(data);
    this.heldBytes += data.length;
    // A small file waits for its close, to go in one command; a large one goes on in batches.
    if (this.stream ? this.heldBytes < BATCH_BYTES : this.heldBytes <= SMALL_FILE_BYTES && !this.append) return;
    await this.sendHeld();
  }

  /** Sends what is held down the file's stream, opening it first when needed. */
  private async sendHeld(): Promise<void> {
    try {
      if (!this.stream) {
        this.stream = await this.files.write(this.path, this.append);
        this.stream.stream.on('error', () => {});
      }
      const batch = this.held.length === 1 ? this.held[0]! : Buffer.concat(this.held);
      this.held = [];
      this.heldBytes = 0;
      await send(this.stream.stream, batch);
    } catch (err) {
      this.failure = await this.reason(err);
      // What was written is not the file the client sent: a full disk gets its space back.
      if (!this.append) await this.files.remove(this.path).catch(() => {});
      throw this.failure;
    }
  }

  /** Writes out what is held or ends the stream; the answer says whether every byte arrived. Later writes go on from here. */
  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    try {
      // An appending write streams (a whole-file command would truncate).
      if (this.held.length && (this.stream || this.append)) await this.sendHeld();
      if (this.stream) {
        const s = this.stream;
        this.stream = null;
        s.stream.end();
        this.files.streamOutcome(await s.done(), this.path);
      } else if (this.held.length || this.position === 0) {
        const bytes = Buffer.concat(this.held);
        this.held = [];
        this.heldBytes = 0;
        await this.files.put(this.path, bytes);
      }
      this.append = true;
    } catch (err) {
      this.failure = err instanceof KuraError ? err : new KuraError('internal', (err as Error).message);
      throw this.failure;
    }
  }

  close(): void {
    this.stream?.close();
    this.stream = null;
  }

  /** Why a stream write failed: the process's own words (a full disk) when it ended, else the error. */
  private async reason(err: unknown): Promise<KuraError> {
    const s = this.stream;
    if (s) {
      this.stream = null;
      s.close();
      try {
        this.files.streamOutcome(await s.done(), this.path);
      } catch (e) {
        if (e instanceof KuraError) return e;
      }
    }
    return err instanceof KuraError ? err : new KuraError('internal', `writing "${this.path}" failed: ${(err as Error).message}`);
  }
}

/** How much a streaming write gathers before it goes to the node: fewer, larger writes cost less. */
const BATCH_BYTES = 32 * 1024;

function jump(): KuraError {
  return new KuraError('bad_request', 'writes must run from the start of the file to its end (or on from its end): upload the file whole');
}

/**
 * Hands bytes to the stream: at once while its buffer has room, else after it drains, so
 * a node slower than the client holds the client back instead of the panel's memory.
 */
function send(stream: NodeJS.WritableStream & { destroyed?: boolean }, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    if (stream.destroyed) {
      reject(new Error('the writing process has ended'));
      return;
    }
    if (stream.write(data)) {
      resolve();
      return;
    }
    const gone = () => finish(new Error('the writing process has ended'));
    const drained = () => finish();
    const finish = (err?: Error) => {
      stream.off('close', gone);
      stream.off('drain', drained);
      if (err) reject(err);
      else resolve();
    };
    stream.once('close', gone);
    stream.once('drain', drained);
  });
}

/**
 * The next `n` bytes (fewer only at the end of the file), or null at the end. Full answers
 * matter: a client given a short one asks again for the rest, out of the order of the
 * requests it already sent, and each jump would reopen the file.
 */
function pull(r: Readable, n: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const done = (value: Buffer | null, err?: Error) => {
      r.off('readable', attempt);
      r.off('end', ended);
      r.off('close', ended);
      r.off('error', failed);
      if (err) reject(err);
      else resolve(value);
    };
    const attempt = () => {
      const chunk = r.read(n) as Buffer | null;
      if (chunk) done(chunk);
      else if (r.readableEnded || r.destroyed) done(null);
    };
    const ended = () => {
      const rest = r.read() as Buffer | null;
      done(rest && rest.length ? rest : null);
    };
    const failed = (err: Error) => done(null, err);
    r.on('readable', attempt);
    r.on('end', ended);
    r.on('close', ended);
    r.on('error', failed);
    attempt();
  });
}
