import { execFile } from 'node:child_process';
import net from 'node:net';
import { promisify } from 'node:util';
import type { FastifyInstance } from 'fastify';

const exec = promisify(execFile);

/** An HTTP stream read (or not read) over a plain socket, as a browser or a stuck client would hold it. */
export interface RawStream {
  status: number;
  socket: net.Socket;
  /** What arrived after the headers, so far. */
  body(): string;
  /** Settles when the connection has closed. */
  closed: Promise<void>;
  isClosed(): boolean;
  /** Stops reading: the socket's buffers fill and the server's writes back up. */
  stopReading(): void;
  /** Hangs up at once, with a reset. */
  reset(): void;
}

/** Opens GET `path` and resolves once the answer's headers are in. */
export function openRaw(origin: string, path: string, headers: Record<string, string> = {}): Promise<RawStream> {
  const url = new URL(origin);
  const socket = net.connect(Number(url.port), url.hostname);
  let head = '';
  let body = '';
  let headersDone = false;
  let closedFlag = false;
  const closed = new Promise<void>((resolve) => socket.on('close', () => {
    closedFlag = true;
    resolve();
  }));
  socket.on('error', () => { /* a reset from either side: `closed` settles */ });
  const lines = Object.entries({ host: url.host, accept: 'text/event-stream', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`GET ${path} HTTP/1.1\r\n${lines}\r\n`);
  return new Promise((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => {
      if (headersDone) {
        body += chunk.toString('latin1');
        return;
      }
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headersDone = true;
      body = head.slice(end + 4);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
      resolve({
        status, socket, closed, body: () => body, isClosed: () => closedFlag,
        stopReading: () => socket.pause(),
        reset: () => socket.resetAndDestroy(),
      });
    });
    closed.then(() => { if (!headersDone) reject(new Error(`closed before an answer: ${JSON.stringify(head)}`)); });
  });
}

/** The panel's side of each connection, by the client's port: how much it has buffered for that client. */
export function serverSockets(app: FastifyInstance): (client: net.Socket) => net.Socket | undefined {
  const sockets = new Set<net.Socket>();
  app.server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  return (client) => [...sockets].find((s) => s.remotePort === client.localPort);
}

/** Waits until `check` holds, polling; throws with `what` when it has not by the deadline. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** This process's established TCP connections to a lab node's Docker port (read with ss, from outside the panel). */
export async function nodeConnections(address: string, port = 2376): Promise<number> {
  const { stdout } = await exec('ss', ['-tnpH', 'state', 'established', 'dst', `${address}:${port}`]);
  return stdout.split('\n').filter((line) => line.includes(`pid=${process.pid},`)).length;
}
