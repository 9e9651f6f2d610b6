import { PassThrough, type Duplex, type Readable, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import { KuraError } from '../lib/errors.js';
import { DOCKER_ROOT_INSIDE } from './backup-spec.js';

/** What the backup helper needs from its node's client. */
export interface BackupNode {
  name: string;
  api: Docker;
  /** The client without an idle timeout: a backup runs as long as its data takes. */
  attach: Docker;
  call<T>(what: string, fn: () => Promise<T>, deadlineMs?: number): Promise<T>;
}

const START_MS = 30_000;

/**
 * Sh scripts the helper runs. Every argument is an id the panel checked (see below), and
 * they are passed as arguments, never as script text. `layer` finds a container's writable
 * layer: the btrfs subvolume Docker names in its layer database.
 */
const LAYER = `layer() {
  m=$(/bin/busybox cat "${DOCKER_ROOT_INSIDE}/image/btrfs/layerdb/mounts/$1/mount-id") || exit 3
  case "$m" in *[!0-9a-f]*|"") echo "the container's layer id is not one Docker makes" >&2; exit 3;; esac
  echo "${DOCKER_ROOT_INSIDE}/btrfs/subvolumes/$m"
}
snapshots="${DOCKER_ROOT_INSIDE}/kura-snapshots"
`;

/** A read-only snapshot of container $1's layer named $2: an instant copy, the state captured. */
const SNAPSHOT = `${LAYER}src=$(layer "$1") || exit 3
/bin/busybox mkdir -p "$snapshots" && /usr/bin/btrfs subvolume snapshot -r "$src" "$snapshots/$2" >/dev/null`;

/** Removes snapshots $@ (those that exist). */
const DROP = `${LAYER}for s in "$@"; do
  if [ -d "$snapshots/$s" ]; then /usr/bin/btrfs subvolume delete "$snapshots/$s" >/dev/null || exit 1; fi
done; exit 0`;

/** The snapshots that exist, one per line. */
const LIST = `${LAYER}[ -d "$snapshots" ] && /bin/busybox ls -1 "$snapshots"; exit 0`;

/**
 * Empties container $1's layer (stopped) for a whole restore: rm never follows a link, so
 * whatever the customer planted there, only the layer's own entries go.
 */
const WIPE = `${LAYER}dst=$(layer "$1") || exit 3
/bin/busybox find "$dst" -mindepth 1 -maxdepth 1 -exec /bin/busybox rm -rf {} + && /bin/busybox sync`;

/**
 * restic, run in $KURA_DIR (a snapshot, or a layer to restore into: a layer name is turned into
 * its path first) with the arguments given. Its repository is the panel's, reached through this
 * exec's own streams: restic starts its "rclone" program, which here is a bridge of two fifos
 * to the exec's stdin and stdout, where the panel's `rclone serve restic --stdio` answers.
 * restic's own output (JSON lines) goes to stderr.
 */
const RESTIC = `${LAYER}case "$KURA_DIR" in
  snapshot:*) dir="$snapshots/\${KURA_DIR#snapshot:}";;
  layer:*) dir=$(layer "\${KURA_DIR#layer:}") || exit 3;;
  *) exit 3;;
esac
d=$(/bin/busybox mktemp -d) || exit 1
/bin/busybox mkfifo "$d/up" "$d/down" || exit 1
printf '#!/bin/sh\\n/bin/busybox cat "%s/down" & exec /bin/busybox cat > "%s/up"\\n' "$d" "$d" > "$d/bridge"
/bin/busybox chmod 700 "$d/bridge"
exec 3<&0
/bin/busybox cat "$d/up" &
up=$!
/bin/busybox cat <&3 > "$d/down" &
down=$!
cd "$dir" || exit 3
/usr/bin/restic -o rclone.program="$d/bridge" -r rclone:kura "$@" </dev/null >&2
code=$?
/bin/busybox kill $up $down 2>/dev/null
/bin/busybox rm -rf "$d"
exit $code`;

const CONTAINER_ID = /^[0-9a-f]{64}$/;
const NAME = /^[A-Za-z0-9_-]{1,100}$/;

function checked(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new KuraError('internal', `refused to pass ${what} "${value.slice(0, 80)}" to the backup helper`);
  return value;
}

/** A short script in the helper; its exit code and output. */
async function runScript(node: BackupNode, helperId: string, script: string, args: string[], deadlineMs = 60_000): Promise<{ code: number; output: string }> {
  const exec = await node.call('exec create', () => node.api.getContainer(helperId).exec({
    Cmd: ['/bin/sh', '-c', script, 'kura-backup', ...args], AttachStdout: true, AttachStderr: true, Tty: false,
  }), START_MS);
  const stream = await node.call('exec start', () => exec.start({ hijack: true, stdin: false }), START_MS) as Duplex;
  const out = new PassThrough();
  let output = '';
  out.on('data', (c: Buffer) => { if (output.length < 4000) output += c.toString('utf8'); });
  node.api.modem.demuxStream(stream, out, out);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { stream.destroy(); reject(new KuraError('node_unavailable', `the backup helper on ${node.name} did not answer within ${deadlineMs / 1000} s`)); }, deadlineMs);
    stream.on('end', () => { clearTimeout(timer); resolve(); });
    stream.on('close', () => { clearTimeout(timer); resolve(); });
    stream.on('error', (err) => { clearTimeout(timer); reject(err); });
  });
  const info = await node.call('exec inspect', () => exec.inspect());
  return { code: info.ExitCode ?? -1, output: output.trim() };
}

async function mustRun(node: BackupNode, helperId: string, what: string, script: string, args: string[]): Promise<void> {
  const r = await runScript(node, helperId, script, args);
  if (r.code !== 0) throw new KuraError('internal', `${what} failed on ${node.name}: ${r.output.slice(-500) || `exit ${r.code}`}`);
}

export function snapshotLayer(node: BackupNode, helperId: string, containerId: string, name: string): Promise<void> {
  return mustRun(node, helperId, 'the snapshot', SNAPSHOT, [checked(containerId, CONTAINER_ID, 'container id'), checked(name, NAME, 'snapshot name')]);
}

export function dropSnapshots(node: BackupNode, helperId: string, names: readonly string[]): Promise<void> {
  return mustRun(node, helperId, 'removing the snapshot', DROP, names.map((n) => checked(n, NAME, 'snapshot name')));
}

export async function listSnapshots(node: BackupNode, helperId: string): Promise<string[]> {
  const r = await runScript(node, helperId, LIST, []);
  if (r.code !== 0) throw new KuraError('internal', `listing snapshots failed on ${node.name}: ${r.output.slice(-300)}`);
  return r.output.split('\n').map((l) => l.trim()).filter((l) => NAME.test(l));
}

export function wipeLayer(node: BackupNode, helperId: string, containerId: string): Promise<void> {
  return mustRun(node, helperId, 'emptying the environment', WIPE, [checked(containerId, CONTAINER_ID, 'container id')]);
}

/** Where restic runs: in a snapshot of the helper's, or in a container's layer. */
export type ResticPlace = { snapshot: string } | { layer: string };

/** The panel's end of the repository: what restic sends goes into `input`, and `output` answers it. */
export interface RepositoryEnd {
  input: Writable;
  output: Readable;
}

/**
 * Runs restic in the helper with `args`, its repository at `repository`. Every line restic
 * prints goes to `onLine` (JSON with --json). Resolves with restic's exit code and its last
 * lines; `signal` ends it early.
 */
export async function runRestic(node: BackupNode, helperId: string, place: ResticPlace, args: string[], env: Record<string, string>,
  repository: RepositoryEnd, onLine: (line: string) => void, signal?: AbortSignal): Promise<{ code: number; tail: string[] }> {
  const dir = 'snapshot' in place ? `snapshot:${checked(place.snapshot, NAME, 'snapshot name')}` : `layer:${checked(place.layer, CONTAINER_ID, 'container id')}`;
  const exec = await node.call('exec create', () => node.api.getContainer(helperId).exec({
    Cmd: ['/bin/sh', '-c', RESTIC, 'kura-backup', ...args], AttachStdin: true, AttachStdout: true, AttachStderr: true, Tty: false,
    Env: [`KURA_DIR=${dir}`, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)],
  }), START_MS);
  const socket = await node.call('exec start', () => node.attach.getExec(exec.id).start({ hijack: true, stdin: true }), START_MS) as Duplex;
  const toRepository = new PassThrough();
  const lines = new PassThrough();
  node.api.modem.demuxStream(socket, toRepository, lines);
  toRepository.pipe(repository.input);
  repository.output.pipe(socket);
  const tail: string[] = [];
  let partial = '';
  lines.on('data', (c: Buffer) => {
    const parts = (partial + c.toString('utf8')).split('\n');
    partial = parts.pop() ?? '';
    if (partial.length > 1 << 20) partial = '';
    for (const line of parts) {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      onLine(line);
    }
  });
  const abort = () => socket.destroy();
  signal?.addEventListener('abort', abort);
  try {
    await new Promise<void>((resolve) => {
      socket.on('end', resolve);
      socket.on('close', resolve);
      socket.on('error', () => resolve());
    });
  } finally {
    signal?.removeEventListener('abort', abort);
    repository.output.unpipe(socket);
    toRepository.unpipe(repository.input);
    repository.input.end();
    socket.destroy();
  }
  if (partial) tail.push(partial);
  const info = await node.call('exec inspect', () => exec.inspect());
  return { code: info.Running ? -1 : info.ExitCode ?? -1, tail };
}
