import http from 'node:http';
import https from 'node:https';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { dockerCliArgs, type LabNode } from '../../server/lab/lab.js';

export { nodeBody } from '../../server/lab/lab.js';

const exec = promisify(execFile);

export function labNodes(): LabNode[] {
  const lab = inject('lab');
  if (!lab) throw new Error('no lab in this test project: tests that need lab nodes belong under tests/nodes or tests/browser');
  return lab.nodes;
}

/** Whether this test project started the lab (the integration project does, the unit project does not). */
export function labRunning(): boolean {
  return inject('lab') !== undefined;
}

export function labNode(index: number): LabNode {
  const node = labNodes().find((n) => n.index === index);
  if (!node) throw new Error(`lab node ${index} is not up`);
  return node;
}

/** Runs the docker CLI against a lab node from outside the panel, as an operator would. */
export async function docker(node: LabNode, ...args: string[]): Promise<string> {
  const { stdout } = await exec('docker', [...dockerCliArgs(node), ...args], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

export async function dockerResult(node: LabNode, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('docker', [...dockerCliArgs(node), ...args], { maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function inspect(node: LabNode, container: string): Promise<Record<string, any>> {
  return JSON.parse(await docker(node, 'inspect', container))[0];
}


/** A GET to `address` (host:port) naming another host in its Host header, as a browser would after DNS. */
export function httpVia(address: string, host: string, path = '/', timeoutMs = 2000): Promise<{ status: number; body: string; location?: string } | null> {
  const [hostname, port] = address.split(':');
  return new Promise((resolve) => {
    const req = http.get({ hostname, port: Number(port ?? 80), path, headers: { host }, timeout: timeoutMs, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, ...(res.headers.location ? { location: res.headers.location } : {}) }));
      res.on('error', () => resolve(null));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** An HTTPS GET to `address` (host:port) for `host` (SNI and Host header), trusting only `ca`; answers the certificate's names too. */
export function httpsVia(address: string, host: string, ca: string, path = '/', timeoutMs = 3000):
  Promise<{ status: number; body: string; names: string; serial: string } | { error: string }> {
  const [hostname, port] = address.split(':');
  return new Promise((resolve) => {
    const req = https.get({ hostname, port: Number(port ?? 443), path, servername: host, headers: { host }, ca, timeout: timeoutMs, agent: false }, (res) => {
      const peer = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const names = peer.subjectaltname ?? '';
      const serial = peer.serialNumber ?? '';
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, names, serial }));
      res.on('error', (err) => resolve({ error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err.message }));
  });
}

export async function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}
