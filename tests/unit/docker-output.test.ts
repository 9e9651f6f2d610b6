import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DockerFrames, demux, readCapped } from '../../server/docker/output.js';

const frame = (type: number, text: string): Buffer => {
  const payload = Buffer.from(text);
  const head = Buffer.alloc(8);
  head[0] = type;
  head.writeUInt32BE(payload.length, 4);
  return Buffer.concat([head, payload]);
};

async function collect(chunks: Buffer[]): Promise<string> {
  const out: Buffer[] = [];
  const frames = Readable.from(chunks).pipe(new DockerFrames());
  for await (const c of frames) out.push(c as Buffer);
  return Buffer.concat(out).toString('utf8');
}

describe("Docker's multiplexed output", () => {
  it('joins stdout and stderr frames however the bytes are split', async () => {
    const bytes = Buffer.concat([frame(1, 'hello '), frame(2, 'wörld\n'), frame(1, '')]);
    expect(await collect([bytes])).toBe('hello wörld\n');
    // One byte at a time: headers and multibyte characters split across chunks.
    expect(await collect([...bytes].map((b) => Buffer.from([b])))).toBe('hello wörld\n');
  });

  it('passes output without frame headers (a TTY) through unchanged', async () => {
    expect(await collect([Buffer.from('plain terminal output\r\n'), Buffer.from('more')])).toBe('plain terminal output\r\nmore');
  });

  it('keeps the first bytes of a command and says how many more there were', async () => {
    const out = await readCapped(demux(Readable.from([frame(1, 'a'.repeat(600)), frame(2, 'b'.repeat(600))])), 1000, 'head');
    expect(out.dropped).toBe(200);
    expect(out.text).toBe(`${'a'.repeat(600)}${'b'.repeat(400)}\n[kura: output truncated, 200 more bytes were not kept]\n`);
  });

  it('keeps the last bytes of a log, and everything when it fits', async () => {
    const out = await readCapped(demux(Readable.from([frame(1, 'old'.repeat(300)), frame(1, 'new'.repeat(300))])), 900, 'tail');
    expect(out.text).toBe(`[kura: output truncated, 900 more bytes were not kept]\n${'new'.repeat(300)}`);
    const small = await readCapped(demux(Readable.from([frame(1, 'short')])), 900, 'tail');
    expect(small).toEqual({ text: 'short', dropped: 0 });
  });

  it('settles when the connection is dropped without an end', async () => {
    const raw = new PassThrough();
    const reading = readCapped(demux(raw), 100, 'head');
    raw.write(frame(1, 'partial'));
    setTimeout(() => raw.destroy(), 10);
    expect((await reading).text).toBe('partial');
  });
});
