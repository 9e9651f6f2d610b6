import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newId } from '../../server/lib/ids.js';
import { FakeNodes } from './fake-nodes.js';
import { startTestPanel, type TestPanel } from './panel.js';

/** A panel over fake nodes with one small registry-image template ("web"), for service races. */
export interface FakeFleet {
  panel: TestPanel;
  fakes: FakeNodes;
  /** Registers a fake node with this capacity; returns its id. */
  addNode(name: string, capacity: { cpus: number; memoryMb: number; diskMb?: number | null }): string;
  plan(name: string, cpus: number, memoryMb: number): Promise<string>;
  close(): Promise<void>;
}

export async function startFakeFleet(env: Record<string, string> = {}): Promise<FakeFleet> {
  const templatesDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-templates-'));
  fs.mkdirSync(path.join(templatesDir, 'web'));
  fs.writeFileSync(path.join(templatesDir, 'web', 'template.json'), JSON.stringify({
    name: 'Web', version: '1.0.0', description: 'a registry image', source: { type: 'registry', reference: 'example/web:1' },
    ports: [{ name: 'http', port: 8080, protocol: 'tcp' }], dataPath: '/srv', user: '1000:1000', capabilities: [],
    command: ['httpd'], env: {}, workingDir: null, defaults: null,
  }));
  const fakes = new FakeNodes();
  const panel = await startTestPanel({ templatesDir, nodes: fakes.registry(), env });
  return {
    panel, fakes,
    addNode(name, capacity) {
      const id = newId('node');
      panel.ctx.repos.nodes.insert({ id, name, endpoint: 'tcp://192.0.2.1:2376', publicHost: '192.0.2.1',
        tls: { ca: null, cert: null, keySealed: null }, capacity: { diskMb: null, ...capacity }, cpuOvercommit: 1,
        maxEnvironments: 30, diskQuota: true, allowUnenforcedDisk: false, dockerVersion: 'fake', storageDriver: 'overlay2' });
      panel.ctx.repos.nodes.markSeen(id, 'online');
      return id;
    },
    async plan(name, cpus, memoryMb) {
      const res = await panel.api('POST', '/plans', { name, cpus, memoryMb, diskMb: 512, pids: 64 });
      if (res.status !== 201) throw new Error(`plan: ${res.text}`);
      return res.body.id as string;
    },
    async close() {
      await panel.close();
      fs.rmSync(templatesDir, { recursive: true, force: true });
    },
  };
}
