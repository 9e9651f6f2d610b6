import type { Context } from '../../core/context.js';
import type { OperationHandlers } from '../runner.js';
import { backupHandler, backupRestoreHandler } from './backups.js';
import { captureHandler } from './capture.js';
import { destroyHandler } from './destroy.js';
import { importHandler, preflightHandler } from './imports.js';
import { evacuateHandler } from './evacuate.js';
import { consolidateHandler, rebalanceHandler } from './fleet-moves.js';
import { moveHandler } from './move.js';
import { powerHandler } from './power.js';
import { preloadHandler } from './preload.js';
import { provisionHandler } from './provision.js';
import { reinstallHandler } from './reinstall.js';
import { resizeHandler } from './resize.js';
import { restoreHandler } from './restore.js';

/** The handler of every operation kind; the type makes a kind without one a compile error. */
export function operationHandlers(ctx: Context): OperationHandlers {
  return {
    provision: provisionHandler(ctx),
    power: powerHandler(ctx),
    resize: resizeHandler(ctx),
    destroy: destroyHandler(ctx),
    reinstall: reinstallHandler(ctx),
    preload: preloadHandler(ctx),
    migrate: moveHandler(ctx),
    evacuate: evacuateHandler(ctx),
    restore: restoreHandler(ctx),
    consolidate: consolidateHandler(ctx),
    rebalance: rebalanceHandler(ctx),
    backup: backupHandler(ctx),
    'backup-restore': backupRestoreHandler(ctx),
    capture: captureHandler(ctx),
    preflight: preflightHandler(ctx),
    import: importHandler(ctx),
  };
}
