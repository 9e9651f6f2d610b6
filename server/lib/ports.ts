import net from 'node:net';

/** Resolves once a TCP connection to host:port succeeds; rejects after `deadlineMs`. */
export async function waitForPort(host: string, port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  let last = '';
  while (Date.now() < until) {
    try {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect({ host, port, timeout: 1000 });
        socket.once('connect', () => { socket.destroy(); resolve(); });
        socket.once('timeout', () => { socket.destroy(); reject(new Error('timed out')); });
        socket.once('error', (err) => { socket.destroy(); reject(err); });
      });
      return;
    } catch (err) {
      last = (err as Error).message;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error(`${host}:${port} did not accept a connection within ${deadlineMs} ms (${last})`);
}
