import { OPERATION_STATUSES } from '../../domain/operations.js';
import type { Lang } from '../../domain/types.js';
import type { Translator } from './i18n.js';

const STATES = ['provisioning', 'running', 'stopped', 'error', 'migrating', 'deleting', 'unknown'];
const OP_STATES = OPERATION_STATUSES;
const HEALTH = ['starting', 'healthy', 'unhealthy'];

/** State names in the page's language, for the script that updates them live. */
export function stateLabels(i18n: Translator, lang: Lang): string {
  return JSON.stringify({
    ...Object.fromEntries(STATES.map((s) => [s, i18n.t(lang, `common.state.${s}`)])),
    ...Object.fromEntries(OP_STATES.map((s) => [`op.${s}`, i18n.t(lang, `common.opState.${s}`)])),
    ...Object.fromEntries(HEALTH.map((h) => [`health.${h}`, i18n.t(lang, `common.health.${h}`)])),
  });
}
