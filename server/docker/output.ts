import { Transform, type TransformCallback } from 'node:stream';

/** The most output of one exec or one logs read the panel keeps in memory. */
export const OUTPUT_CAP_BYTES = 1024 * 1024;

/**
 * Docker's multiplexed stdout/stderr (8-byte headers: stream type, then the payload
 * length) as the payload bytes alone, frame by frame as they arrive, so a consumer that
 * pauses this stream pauses the connection to the node too (it is piped in). Output that
 * does not start with a frame header (a TTY's) passes through unchanged.
 */
export class DockerFrames extends Transform {
  private readonly head = Buffer.alloc(8);
  private headLength = 0;
  /** Payload bytes still to come in the current frame. */
  private left = 0;
  private raw = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.raw) {
        this.push(chunk.subarray(i));
        break;
      }
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - i);
        this.push(chunk.subarray(i, i + n));
        this.left -= n;
        i += n;
        continue;
      }
      const n = Math.min(8 - this.headLength, chunk.length - i);
      chunk.copy(this.head, this.headLength, i, i + n);
      this.headLength += n;
      i += n;
      if (this.headLength < 8) break;
      this.headLength = 0;
      const type = this.head[0]!;
      if (type > 2 || this.head[1] !== 0 || this.head[2] !== 0 || this.head[3] !== 0) {
        // Not a frame: the rest is plain output.
        this.raw = true;
        this.push(Buffer.from(this.head));
        continue;
      }
      this.left = this.head.readUInt32BE(4);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    // A partial header at the very end is output too.
    if (this.headLength > 0) this.push(this.head.subarray(0, this.headLength));
    done();
  }
}

export interface CappedOutput {
  text: string;
  /** Bytes left out beyond the cap (0 when nothing was). */
  dropped: number;
}

/**
 * Reads a (demultiplexed) stream to its end, keeping at most `cap` bytes: the first ones
 * (`keep: 'head'`, for a command's output) or the last ones (`'tail'`, for a log). What
 * is left out is counted, not kept, and said in a marker line. Settles on end, error
 * or when the stream is destroyed.
 */
export function readCapped(stream: NodeJS.ReadableStream, cap: number, keep: 'head' | 'tail'): Promise<CappedOutput> {
  return new Promise((resolve, reject) => {
    const kept: Buffer[] = [];
    let size = 0;
    let dropped = 0;
    stream.on('data', (chunk: Buffer) => {
      if (keep === 'head') {
        const take = Math.min(Math.max(0, cap - size), chunk.length);
        if (take > 0) kept.push(Buffer.from(chunk.subarray(0, take)));
        size += take;
        dropped += chunk.length - take;
        return;
      }
      kept.push(Buffer.from(chunk));
      size += chunk.length;
      while (size > cap) {
        const first = kept[0]!;
        const over = size - cap;
        if (first.length <= over) {
          kept.shift();
          size -= first.length;
          dropped += first.length;
        } else {
          kept[0] = first.subarray(over);
          size -= over;
          dropped += over;
        }
      }
    });
    const finish = () => resolve({ text: withMarker(Buffer.concat(kept).toString('utf8'), dropped, keep), dropped });
    stream.on('end', finish);
    stream.on('close', finish);
    stream.on('error', reject);
  });
}

function withMarker(text: string, dropped: number, keep: 'head' | 'tail'): string {
  if (dropped === 0) return text;
  const note = `[kura: output truncated, ${dropped} more bytes were not kept]`;
  return keep === 'head' ? `${text}\n${note}\n` : `${note}\n${text}`;
}

/** The payload of a node's output stream, piped (so with backpressure); it ends or fails with the connection. */
export function demux(raw: NodeJS.ReadableStream, mapError: (err: Error) => Error = (err) => err): DockerFrames {
  const frames = new DockerFrames();
  raw.pipe(frames);
  raw.on('error', (err: Error) => frames.destroy(mapError(err)));
  // A connection dropped without an end still ends the output.
  raw.on('close', () => {
    if (!frames.writableEnded) frames.end();
  });
  return frames;
}
