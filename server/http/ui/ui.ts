import type { Context } from '../../core/context.js';
import type { LoginThrottle } from '../../services/login-throttle.js';
import type { Translator } from './i18n.js';
import type { StreamRegistry } from '../streams.js';

/** What every page module receives. */
export interface Ui {
  ctx: Context;
  i18n: Translator;
  throttle: LoginThrottle;
  /** The web panel's open streams (log follows, live updates, consoles), counted per session. */
  streams: StreamRegistry;
}
