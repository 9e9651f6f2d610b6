import fs from 'node:fs';
import Docker from 'dockerode';
import { nodeTlsPem, type LabNode } from '../server/lab/lab.js';

/** A process's resident memory in MB: all of it, and the part not shared with other processes (anonymous); zeros once it is gone. */
export function memoryOf(pid: number | string): { rssMb: number; ownMb: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
    return { rssMb: kb('VmRSS') / 1024, ownMb: kb('RssAnon') / 1024 };
  } catch {
    return { rssMb: 0, ownMb: 0 };
  }
}

/** A dockerode client for a lab node, over its mutual TLS (benchmarks only; the panel reaches nodes through server/docker). */
export function labDocker(node: LabNode): Docker {
  return new Docker({ host: node.address, port: 2376, protocol: 'https', ...nodeTlsPem(node) });
}
