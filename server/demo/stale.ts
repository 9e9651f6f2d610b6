import fs from 'node:fs';
import path from 'node:path';
import { storedPanelId } from '../db/connection.js';
import type { LabStatus } from '../lab/lab.js';
import { removeLabelledContainers } from '../lab/containers.js';
import { EDGE_LABEL } from '../docker/edge-spec.js';
import { BACKUP_LABEL } from '../docker/backup-spec.js';

/**
 * A demo starts fresh: the previous demo's database is removed together with the
 * containers that demo panel made on the lab nodes (found by its panel label).
 */
export async function removeStaleDemo(dataDir: string, lab: LabStatus): Promise<void> {
  const file = path.join(dataDir, 'kura.db');
  if (!fs.existsSync(file)) return;
  let panelId: string | undefined;
  try {
    panelId = storedPanelId(file);
  } catch (err) {
    console.log(`- the previous demo database could not be read (${err instanceof Error ? err.message : String(err)}); starting over`);
  }
  if (panelId && /^[a-z0-9_]+$/.test(panelId)) {
    await removeLabelledContainers(lab.nodes, `io.kura.panel=${panelId}`);
    // Its edges too: they hold ports 80 and 443 of the nodes.
    await removeLabelledContainers(lab.nodes, `${EDGE_LABEL}=${panelId}`);
    await removeLabelledContainers(lab.nodes, `${BACKUP_LABEL}=${panelId}`);
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
}
