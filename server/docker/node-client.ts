import type { BackupNode } from './backup-agent.js';
import Docker from 'dockerode';
import type { ContainerCreateOptions, ContainerInfo } from 'dockerode';
import type { Limits } from '../domain/types.js';
import { NodeCallError, NodeUnavailableError } from '../lib/errors.js';
import { CircuitBreaker } from './breaker.js';
import { NodeGate, type CallMode, type NodeCallLimits } from './node-gate.js';
import { eventParser, type ContainerEvent } from './container-events.js';
import { containerState, type ContainerState } from './container-state.js';
import { nodeError, isNotFound, isConflict } from './errors.js';
import { LABEL, customerNetworkName, resourceLimits, MIB } from './container-spec.js';
import type { UsageCounters } from '../domain/usage.js';
import { readStats, readUsageCounters, type EnvironmentStats } from './stats.js';
import { openShell, type Shell } from './shell.js';
import type { PanelImage } from './panel-image.js';
import { followLogs, readLogs, runExec, type ExecResult, type LogFollow, type OutputNode } from './container-output.js';
import { FileAgent, archiveStream, readStream, writeStream, type FileAgentNode, type FileScope, type FileStream } from './file-agent.js';
import { ContainerFiles } from './files.js';
import { NodeImages } from './images.js';
import { dockerClient, type NodeConnection } from './connections.js';

export { parseEndpoint } from './connections.js';
export type { NodeConnection, Shell, LogFollow, ExecResult, PanelImage, ContainerState };

export interface NodeFacts {
  dockerVersion: string;
  apiVersion: string;
  cpus: number;
  memoryMb: number;
  storageDriver: string;
  /** The CPU architecture, as uname -m names it (x86_64). */
  architecture: string;
  /** Where the engine keeps images and containers (the backup helper sees it). */
  dockerRootDir: string;
}

const CALL_TIMEOUT_MS = 15_000;
/**
 * Making and starting a container: storage, network and the runtime all work for it, and a
 * node busy with many at once is slow at it, not dead (the heartbeat says which). At 15 s,
 * starts on a busy node timed out, opened its breaker and failed the creates behind them.
 */
const CONTAINER_WORK_TIMEOUT_MS = 60_000;
/** Reads a person is waiting on (stats, logs) give up sooner than work in an operation. */
const READ_TIMEOUT_MS = 5_000;
const LOAD_TIMEOUT_MS = 15 * 60_000;
/** A ping's connection gives up after this long without an answer, so a hung one never holds the next beat. */
const HEARTBEAT_SOCKET_MS = 5_000;

/**
 * The panel's one door to one Docker engine. Built once per node; every call has a
 * deadline and every failure comes out as the panel's own error.
 */
export class NodeClient {
  private readonly api: Docker;
  private readonly bulk: Docker;
  /** Long-lived streams (events, console) have no idle timeout; the heartbeat watches the node instead. */
  private readonly stream: Docker;
  /** Log follows get their own connection pool, so many open log views cannot starve the events stream. */
  private readonly follow: Docker;
  /** The heartbeat's own connection: a ping never waits behind anyone's calls. */
  private readonly heartbeat: Docker;
  readonly breaker: CircuitBreaker;
  /** The panel's queue in front of this node's short calls, shared fairly between customers. */
  readonly gate: NodeGate;
  /** Called after every call with its duration and whether it failed (for metrics). */
  onCall: ((call: string, ms: number, failed: boolean) => void) | null = null;

  constructor(readonly conn: NodeConnection, limits?: NodeCallLimits) {
    // Each pool is its own client with its own connections (see connections.ts).
    const make = (timeout: number) => dockerClient(conn, timeout);
    this.api = make(CALL_TIMEOUT_MS);
    this.bulk = make(LOAD_TIMEOUT_MS);
    this.stream = make(0);
    this.follow = make(0);
    this.heartbeat = make(HEARTBEAT_SOCKET_MS);
    this.breaker = new CircuitBreaker(conn.name);
    this.gate = new NodeGate(conn.name, limits);
  }

  get name(): string {
    return this.conn.name;
  }

  /**
   * Every call to the node goes through here. A short call first waits for a slot in the
   * gate (the panel's own queue: that wait is outside the deadline and never trips the
   * breaker), then the deadline runs while the node has the request.
   */
  private async call<T>(what: string, fn: () => Promise<T>, deadlineMs = CALL_TIMEOUT_MS, mode: CallMode = 'short'): Promise<T> {
    const probe = mode === 'probe';
    if (!probe) this.breaker.check(what);
    const release = mode === 'short' ? await this.gate.enter(what) : null;
    if (release) {
      try {
        this.breaker.check(what); // it may have opened while this call waited
      } catch (err) {
        release();
        throw err;
      }
    }
    const started = performance.now();
    let failed = false;
    let timer: NodeJS.Timeout | undefined;
    let work: Promise<T> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${deadlineMs} ms`), { code: 'ETIMEDOUT' })), deadlineMs);
    });
    try {
      work = fn();
      return await Promise.race([work, deadline]);
    } catch (err) {
      failed = true;
      const mapped = nodeError(this.conn.name, what, err);
      // A slow heartbeat alone does not open the breaker; the watch decides after repeated misses.
      if (mapped instanceof NodeUnavailableError && !probe) this.breaker.trip(mapped.message);
      throw mapped;
    } finally {
      clearTimeout(timer);
      // The slot stays taken until the node has answered, even past the deadline: its connection is busy until then.
      if (release) void (work ? work.then(release, release) : release());
      this.onCall?.(what, performance.now() - started, failed);
    }
  }

  async facts(deadlineMs = 8000): Promise<NodeFacts> {
    return this.call('info', async () => {
      const [version, info] = await Promise.all([this.api.version(), this.api.info() as Promise<Record<string, unknown>>]);
      return {
        dockerVersion: version.Version,
        apiVersion: version.ApiVersion,
        cpus: Number(info.NCPU),
        memoryMb: Math.floor(Number(info.MemTotal) / MIB),
        storageDriver: String(info.Driver),
        dockerRootDir: String(info.DockerRootDir),
        architecture: String(info.Architecture),
      };
    }, deadlineMs);
  }

  /** The heartbeat: goes out even while the breaker is open, and closes it on an answer. */
  async ping(deadlineMs = 5000): Promise<void> {
    await this.call('ping', () => this.heartbeat.ping(), deadlineMs, 'probe');
    this.breaker.reset();
  }

  /**
   * Follows the node's container events for this panel's containers from `since`
   * (seconds) on. Resolves once the stream is open; `ended` settles when it closes.
   */
  async watchEvents(panelLabel: string, since: number | undefined, onEvent: (e: ContainerEvent) => void):
    Promise<{ close(): void; ended: Promise<void> }> {
    const stream = await this.call('events', () => this.stream.getEvents({
      ...(since !== undefined ? { since } : {}),
      filters: { type: ['container'], label: [panelLabel] },
    }), 5000) as NodeJS.ReadableStream & { destroy(): void };
    const parse = eventParser(onEvent);
    const ended = new Promise<void>((resolve) => {
      stream.on('data', parse);
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
      stream.on('error', () => resolve());
    });
    return { close: () => stream.destroy(), ended };
  }

  // The node's images (images.ts); these keep the client's one door for the rest of the panel.
  hasImage(ref: string): Promise<boolean> { return this.images().has(ref); }
  ensureImage(image: PanelImage): Promise<void> { return this.images().ensure(image); }
  loadImage(archive: string): Promise<void> { return this.images().load(archive); }
  pullImage(reference: string): Promise<void> { return this.images().pull(reference); }
  commit(id: string, repo: string, tag: string): Promise<string> { return this.images().commit(id, repo, tag); }
  saveImage(ref: string): Promise<NodeJS.ReadableStream> { return this.images().save(ref); }

  /**
   * The customer's bridge network on this node. Docker's duplicate check is not atomic,
   * so two racing creates (from a panel that was restarted mid-create) can leave two
   * networks of one name: the oldest is kept and empty extras are removed.
   */
  async ensureCustomerNetwork(customerId: string, panelId: string): Promise<string> {
    const name = customerNetworkName(customerId);
    const existing = (await this.call('network list', () => this.api.listNetworks({ filters: { name: [name] } })))
      .filter((n) => n.Name === name)
      .sort((a, b) => String(a.Created).localeCompare(String(b.Created)));
    for (const extra of existing.slice(1)) {
      try {
        await this.call('network remove', () => this.api.getNetwork(extra.Id).remove());
      } catch (err) {
        if (!isNotFound(err) && !isConflict(err)) throw err;
      }
    }
    if (existing.length > 0) return name;
    await this.call('network create', () => this.api.createNetwork({
      Name: name, Driver: 'bridge', CheckDuplicate: true,
      Labels: { [LABEL.customer]: customerId, [LABEL.panel]: panelId },
      Options: { 'com.docker.network.bridge.enable_icc': 'true' },
    }));
    return name;
  }

  async removeCustomerNetworkIfUnused(customerId: string): Promise<void> {
    const name = customerNetworkName(customerId);
    try {
      const net = await this.call('network inspect', () => this.api.getNetwork(name).inspect()) as { Containers?: object };
      if (Object.keys(net.Containers ?? {}).length === 0) await this.call('network remove', () => this.api.getNetwork(name).remove());
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** Containers carrying a label, running or not. */
  async listByLabel(label: string, value?: string): Promise<ContainerInfo[]> {
    const filter = value === undefined ? label : `${label}=${value}`;
    return this.call('container list', () => this.api.listContainers({ all: true, filters: { label: [filter] } }));
  }

  /** Host ports ("tcp:20000") that running containers publish, this panel's or not. */
  async publishedPorts(): Promise<Set<string>> {
    const running = await this.call('container list', () => this.api.listContainers({ all: false }));
    return new Set(running.flatMap((c) => (c.Ports ?? []).filter((p) => p.PublicPort).map((p) => `${p.Type}:${p.PublicPort}`)));
  }

  async createContainer(spec: ContainerCreateOptions): Promise<string> {
    const c = await this.call('container create', () => this.api.createContainer(spec), CONTAINER_WORK_TIMEOUT_MS);
    return c.id;
  }

  async inspect(id: string): Promise<ContainerState | null> {
    try {
      return containerState(await this.call('container inspect', () => this.api.getContainer(id).inspect()));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Gives a container another name; it keeps its id, its data and whether it runs. */
  async rename(id: string, name: string): Promise<void> {
    await this.call('container rename', () => this.api.getContainer(id).rename({ name }));
  }

  /**
   * What a container's files take: `rootFs` is everything it sees (its image included, as a
   * btrfs quota counts it), `changed` only what it wrote. Docker walks the files for this, so
   * it is read only when a decision needs it.
   */
  async diskUsage(id: string): Promise<{ rootFsBytes: number; changedBytes: number }> {
    const container = this.api.getContainer(id);
    const info = await this.call('container inspect',
      () => (container.inspect as (o: object) => Promise<{ SizeRw?: number; SizeRootFs?: number }>)({ size: true }), 60_000);
    return { rootFsBytes: info.SizeRootFs ?? 0, changedBytes: info.SizeRw ?? 0 };
  }

  async start(id: string): Promise<void> {
    try {
      await this.call('container start', () => this.api.getContainer(id).start(), CONTAINER_WORK_TIMEOUT_MS);
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  }

  async stop(id: string, graceSeconds = 10): Promise<void> {
    try {
      await this.call('container stop', () => this.api.getContainer(id).stop({ t: graceSeconds }), CALL_TIMEOUT_MS + graceSeconds * 1000);
    } catch (err) {
      if (!isNotModified(err)) throw err;
    }
  }

  /** Freezes every process of a container (the cgroup freezer) until unpause; a paused one is fine. */
  async pause(id: string): Promise<void> {
    await this.call('container pause', () => this.api.getContainer(id).pause());
  }

  async unpause(id: string): Promise<void> {
    await this.call('container unpause', () => this.api.getContainer(id).unpause());
  }

  async restart(id: string, graceSeconds = 10): Promise<void> {
    await this.call('container restart', () => this.api.getContainer(id).restart({ t: graceSeconds }), CALL_TIMEOUT_MS + graceSeconds * 1000);
  }

  async update(id: string, limits: Limits): Promise<void> {
    await this.call('container update', () => this.api.getContainer(id).update(resourceLimits(limits)));
  }

  /** Removes a container and its writable layer; one already gone, or going, is fine. */
  async remove(id: string): Promise<void> {
    try {
      await this.call('container remove', () => this.api.getContainer(id).remove({ force: true, v: true }), 60_000);
    } catch (err) {
      if (isNotFound(err)) return;
      if (isConflict(err) && /already in progress/.test((err as Error).message)) return;
      throw err;
    }
  }

  async stats(id: string): Promise<EnvironmentStats> {
    const container = this.api.getContainer(id);
    const [raw, info] = await Promise.all([
      this.call('container stats', () => container.stats({ stream: false }), READ_TIMEOUT_MS),
      // The typings lack the `size` query that makes Docker report the writable layer's size.
      this.call('container inspect', () => (container.inspect as (o: object) => Promise<{ SizeRw?: number }>)({ size: true }), READ_TIMEOUT_MS),
    ]);
    return readStats(raw, info.SizeRw ?? null);
  }

  /**
   * One stats read without Docker's second sample (it answers at once instead of after
   * about a second), as cumulative counters: the usage sampler takes the differences itself.
   */
  async statsOneShot(id: string): Promise<UsageCounters> {
    // `one-shot` needs Docker API 1.41; older engines ignore it and take their usual second.
    const raw = await this.call('container stats', () => this.api.getContainer(id).stats({ stream: false, 'one-shot': true }), READ_TIMEOUT_MS);
    return readUsageCounters(raw);
  }

  /** The last `tail` lines a container wrote; at most OUTPUT_CAP_BYTES of them (the newest), marked when cut. */
  async logs(id: string, tail: number): Promise<string> {
    return readLogs(this.outputNode(), id, tail, READ_TIMEOUT_MS);
  }

  /** Runs a command in a container; for probes and checks, not customer input (see container-output.ts). */
  async exec(id: string, cmd: string[], deadlineMs = 30_000, user?: string): Promise<ExecResult> {
    return runExec(this.outputNode(), id, cmd, deadlineMs, user);
  }

  /** A container's files: its changes against the image, stats, and tar archives in and out. */
  files(id: string): ContainerFiles {
    return new ContainerFiles({ api: this.api, bulk: this.bulk, call: (what, fn, ms, mode) => this.call(what, fn, ms, mode) }, id);
  }

  /** A running container's files as the template's user, kept inside its data folder (see file-agent.ts). */
  fileAgent(id: string, scope: FileScope): Promise<FileAgent> {
    return FileAgent.open(this.fileNode(), id, scope);
  }

  /** One file's bytes in or out of a running container, or a folder as a .tar.gz, streamed. */
  fileStream(id: string, scope: FileScope, how: { read: string; offset?: number } | { write: string; append?: boolean } | { archive: string }): Promise<FileStream> {
    const node = this.fileNode();
    if ('read' in how) return readStream(node, id, scope, how.read, how.offset ?? 0);
    if ('write' in how) return writeStream(node, id, scope, how.write, how.append ? 'append' : 'truncate');
    return archiveStream(node, id, scope, how.archive);
  }

  /**
   * An interactive shell in a running container, as the container's own user (see
   * shell.ts); `tools` is the panel's image that ends the shell's processes on close.
   */
  async openShell(id: string, size: { cols: number; rows: number }, tools: PanelImage): Promise<Shell> {
    return openShell({
      name: this.name, api: this.api, attach: this.stream, call: (what, fn, ms) => this.call(what, fn, ms),
      ensureImage: (image) => this.ensureImage(image),
      remove: (cid) => this.remove(cid),
    }, id, size, tools, READ_TIMEOUT_MS);
  }

  /** Follows a container's stdout and stderr from now on; pausing the stream stops reading from the node. */
  async followLogs(id: string): Promise<LogFollow> {
    return followLogs(this.outputNode(), id, READ_TIMEOUT_MS);
  }

  private images(): NodeImages {
    return new NodeImages({ name: this.name, api: this.api, bulk: this.bulk, call: (what, fn, ms, mode) => this.call(what, fn, ms, mode) });
  }

  /** What the backup helper's scripts and restic runs need (see backup-agent.ts). */
  backupNode(): BackupNode {
    return { name: this.name, api: this.api, attach: this.stream, call: (what, fn, ms) => this.call(what, fn, ms, 'transfer') };
  }

  private fileNode(): FileAgentNode {
    return { name: this.name, api: this.api, attach: this.stream, call: (what, fn, ms) => this.call(what, fn, ms) };
  }

  private outputNode(): OutputNode {
    return { name: this.name, api: this.api, follow: this.follow, call: (what, fn, ms) => this.call(what, fn, ms) };
  }
}

/** Docker answers 304 to starting a running container or stopping a stopped one. */
function isNotModified(err: unknown): boolean {
  return err instanceof NodeCallError && err.httpStatus === 304;
}
