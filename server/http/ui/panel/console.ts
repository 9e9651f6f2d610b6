import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Environment } from '../../../domain/types.js';
import type { Shell } from '../../../docker/node-client.js';
import { audit } from '../../../services/audit.js';
import { environmentFor } from '../../../services/environments.js';
import { openEnvironmentShell } from '../../../services/environment-io.js';
import type { Context } from '../../../core/context.js';
import type { ActiveSession } from '../../../services/sessions.js';
import type { StreamSlot } from '../../streams.js';
import { sessionCredential } from '../../stream-credentials.js';
import { errorMessage, ForbiddenError } from '../../../lib/errors.js';
import type { Ui } from '../ui.js';
import { signedIn } from '../web-request.js';

/** How often an open console checks for idleness, how long it may sit without input, how many a session may open. */
export const consoleLimits = { idleCheckMs: 5_000, idleMs: 30 * 60_000, perSession: 3 };
export const MAX_INPUT_BYTES = 64 * 1024;
/** Output waiting for a slow browser beyond this pauses the shell's output. */
const HIGH_WATER = 1024 * 1024;

const ClientMessage = Type.Union([
  Type.Object({ type: Type.Literal('input'), data: Type.String({ maxLength: MAX_INPUT_BYTES }) }, { additionalProperties: false }),
  Type.Object({ type: Type.Literal('resize'), cols: Type.Integer({ minimum: 1, maximum: 500 }),
    rows: Type.Integer({ minimum: 1, maximum: 200 }) }, { additionalProperties: false }),
]);
type Message = Static<typeof ClientMessage>;

interface Grant {
  active: ActiveSession;
  env: Environment;
}

/** Close codes the browser sees. */
const NORMAL = 1000;
const POLICY = 1008;
const FAILED = 1011;
/** The panel is shutting down. */
const GOING_AWAY = 1001;

/**
 * The web console: a shell in the environment's container over a WebSocket. Checked like
 * the page (session, environment access) plus the Origin, before the upgrade; closed when
 * the session ends, after a long idle time, or when the browser goes.
 */
export const consolePages = (ui: Ui) => async (app: FastifyInstance): Promise<void> => {
  const { ctx, streams } = ui;
  const grants = new WeakMap<FastifyRequest, Grant>();

  app.get<{ Params: { id: string } }>('/environments/:id/console', {
    websocket: true,
    config: { stream: true },
    preHandler: async (request) => {
      const active = signedIn(request);
      // Browsers send Origin on every WebSocket; cookies alone would let another site open one.
      if (request.headers.origin !== `${request.protocol}://${request.host}`) {
        throw new ForbiddenError('cross-site console refused: the console opens only from the panel');
      }
      grants.set(request, { active, env: environmentFor(ctx, active.principal, request.params.id) });
    },
  }, (socket, request) => {
    const grant = grants.get(request);
    if (!grant) return socket.close(POLICY, 'not authorized');
    if (grant.env.state !== 'running' || !grant.env.containerId) {
      say(socket, `The environment is ${grant.env.state}; start it to use the console.`);
      return socket.close(NORMAL, 'not running');
    }
    let slot: StreamSlot;
    try {
      slot = streams.take('console', consoleLimits.perSession, sessionCredential(ctx, grant.active.session.idHash), 'consoles');
    } catch {
      // The only refusal take() has: the session's consoles are all in use.
      say(socket, `At most ${consoleLimits.perSession} consoles may be open at once; close another one first.`);
      return socket.close(POLICY, 'too many consoles');
    }
    runConsole(ctx, socket, request, grant, slot);
  });
};

/** Bridges one browser socket and one shell until either ends, the session ends or the console sits idle. */
function runConsole(ctx: Context, socket: WebSocket, request: FastifyRequest, grant: Grant, slot: StreamSlot): void {
  const { active, env } = grant;
  // Read now: once the browser has gone, its address is gone with the socket.
  const ip = request.ip;
  const log = request.log.child({ env: env.id });
  let shell: Shell | null = null;
  let closed = false;
  let size = { cols: 80, rows: 24 };
  let early = '';
  let lastInput = Date.now();

  const endShell = (s: Shell) => s.close().catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'console shell did not end cleanly'));
  const resize = (s: Shell) => s.resize(size.cols, size.rows).catch((err: unknown) => log.debug({ err: errorMessage(err) }, 'console resize failed'));
  const cleanup = () => {
    if (closed) return;
    closed = true;
    clearInterval(watch);
    slot.end('client');
    if (shell) void endShell(shell);
  };
  const end = (code: number, reason: string, message?: string) => {
    if (closed) return;
    if (message) say(socket, message);
    socket.close(code, reason);
    cleanup();
  };
  const watch = setInterval(() => {
    if (Date.now() - lastInput > consoleLimits.idleMs) end(NORMAL, 'idle', 'The console was closed after a long time without input.');
  }, consoleLimits.idleCheckMs);
  slot.onEnd((reason) => {
    if (reason === 'credential') end(POLICY, 'session ended', 'Your session has ended; the console is closed.');
    else if (reason === 'closing') end(GOING_AWAY, 'panel closing');
  });

  socket.on('close', cleanup);
  socket.on('message', (raw: RawData, isBinary: boolean) => {
    const msg = isBinary ? null : parseMessage(raw);
    if (!msg) return end(POLICY, 'bad message');
    if (msg.type === 'resize') {
      size = { cols: msg.cols, rows: msg.rows };
      if (shell) void resize(shell);
      return;
    }
    if (Buffer.byteLength(msg.data) > MAX_INPUT_BYTES) return end(POLICY, 'input too large');
    lastInput = Date.now();
    // Typing before the shell is up is kept for it (the browser may send at once).
    if (shell) shell.stream.write(msg.data);
    else if (early.length + msg.data.length <= MAX_INPUT_BYTES) early += msg.data;
  });

  const asked = { ...size };
  openEnvironmentShell(ctx, env, asked).then((opened) => {
    shell = opened;
    if (closed) return void endShell(opened);
    try {
      audit(ctx, { principal: active.principal, via: 'web', ip, action: 'environment.console',
        resourceType: 'environment', resourceId: env.id, status: 101 });
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'audit entry could not be written');
    }
    pipeOutput(opened, socket, log, () => end(NORMAL, 'shell exited', 'The shell has exited.'));
    if (early) opened.stream.write(early);
    early = '';
    if (size.cols !== asked.cols || size.rows !== asked.rows) void resize(opened);
  }, (err: unknown) => {
    log.warn({ err: errorMessage(err) }, 'console could not start a shell');
    end(FAILED, 'no shell', `The console could not start a shell: ${errorMessage(err)}`);
  });
}

/** A notice from the panel in the terminal, set apart in yellow. */
function say(socket: WebSocket, text: string): void {
  socket.send(`\r\n\x1b[33m${text}\x1b[0m\r\n`);
}

/** The shell's output to the browser as binary frames, pausing the shell while the browser falls behind. */
function pipeOutput(shell: Shell, socket: WebSocket, log: FastifyBaseLogger, onEnd: () => void): void {
  const resume = () => {
    if (shell.stream.isPaused() && socket.bufferedAmount < HIGH_WATER / 4) shell.stream.resume();
  };
  shell.stream.on('data', (chunk: Buffer) => {
    socket.send(chunk, { binary: true }, resume);
    if (socket.bufferedAmount > HIGH_WATER) shell.stream.pause();
  });
  shell.stream.on('end', onEnd);
  shell.stream.on('close', onEnd);
  shell.stream.on('error', (err) => {
    log.warn({ err: errorMessage(err) }, 'console connection to the node failed');
    onEnd();
  });
}

function parseMessage(raw: RawData): Message | null {
  const text = (Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw)).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null; // not JSON: the caller closes the console as for any other bad message
  }
  return Value.Check(ClientMessage, value) ? value : null;
}
