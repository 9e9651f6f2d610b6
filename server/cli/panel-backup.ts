import path from 'node:path';
import { loadConfig, ConfigError } from '../config.js';
import { openDatabase, storedPanelId } from '../db/connection.js';
import { errorMessage } from '../lib/errors.js';
import { backupPanel, panelBackups, PanelBackupError, restorePanel, verifyPanelBackup } from '../services/panel-backup.js';

const USAGE = `usage: npm run panel-backup -- <command>

  now                          copy the panel's data now (the panel may be running), into KURA_PANEL_BACKUP_DIR
  list                         the copies there, newest first
  check <copy>                 verify a copy: its manifest, every file's SHA-256, SQLite's integrity_check
  restore <copy> [--force]     put a copy in KURA_DATA_DIR for a panel to start from (on a new machine:
                               copy the folder there first); refused if a database is there, unless --force

Settings as for npm start: KURA_DATA_DIR, KURA_PANEL_BACKUP_DIR, KURA_PANEL_BACKUP_KEEP.`;

/** The panel's own backups from a shell: take one, list, check, restore. */
async function main(argv: string[]): Promise<void> {
  const config = loadConfig();
  const [command, arg] = argv.filter((a) => !a.startsWith('--'));
  const force = argv.includes('--force');
  switch (command) {
    case 'now': {
      const file = path.join(config.dataDir, 'kura.db');
      const panelId = storedPanelId(file) ?? null;
      const db = openDatabase(file);
      try {
        const b = await backupPanel({ db, dataDir: config.dataDir, panelId }, config.panelBackupDir, config.panelBackupKeep);
        console.log(`copied to ${b.dir} (${Object.keys(b.manifest.files).join(', ')}; integrity_check ok)`);
      } finally {
        db.close();
      }
      return;
    }
    case 'list':
      for (const dir of panelBackups(config.panelBackupDir)) console.log(dir);
      return;
    case 'check': {
      if (!arg) throw new PanelBackupError('name the copy to check');
      const m = verifyPanelBackup(path.resolve(arg));
      console.log(`${arg}: whole (taken ${m.createdAt}, panel ${m.panelId ?? '?'}; ${Object.keys(m.files).join(', ')})`);
      return;
    }
    case 'restore': {
      if (!arg) throw new PanelBackupError('name the copy to restore');
      const m = restorePanel(path.resolve(arg), config.dataDir, { force });
      console.log(`restored the copy taken ${m.createdAt} into ${config.dataDir}: start the panel there (npm start) with the same KURA_DATA_DIR`);
      return;
    }
    default:
      console.log(USAGE);
      if (command) process.exitCode = 2;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`panel-backup: ${err instanceof PanelBackupError || err instanceof ConfigError ? err.message : errorMessage(err)}\n`);
  process.exit(1);
});
