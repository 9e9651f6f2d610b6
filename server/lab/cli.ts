// npm run lab -- <up|down|status|pause|resume|kill|restart> [options]
import { legacyDown, legacyUp } from './legacy.js';
import { withLabLock } from './lock.js';
import { parseArgs } from 'node:util';
import {
  dockerCliArgs, killNode, labDown, labStatus, labUp, pauseNode, restartNode, resumeNode,
  type LabNode, type LabStatus,
} from './lab.js';

const USAGE = `usage: npm run lab -- <command> [options]

  up --nodes N [--disk-gb G]   start nodes 1..N (idempotent; dead nodes are rebuilt)
  down                         remove every node and everything the lab made
  status [--json]              list nodes (JSON: the LabStatus object)
  pause N | resume N           SIGSTOP / SIGCONT node N's dockerd and containerd
  kill N                       SIGKILL node N's dockerd
  restart N [--fresh]          bring node N back (keeps its disk unless --fresh)
  env N                        print docker CLI arguments for node N
  legacy [down]                the legacy server to import (debootstrap, in its own namespace): start it, print its login; or stop it

options: --dir DIR (default $KURA_LAB_DIR or /var/lib/kura-lab), --json`;

function fail(msg: string): never {
  process.stderr.write(`kura-lab: ${msg}\n`);
  process.exit(1);
}

function intArg(value: string | undefined, what: string): number {
  if (value === undefined || !/^[0-9]+$/.test(value)) fail(`${what} must be a positive integer\n\n${USAGE}`);
  return Number(value);
}

function describe(n: LabNode): string {
  return `${n.name.padEnd(6)} ${n.state.padEnd(12)} pid ${String(n.pid ?? '-').padEnd(8)} ${n.endpoint}`;
}

function print(status: LabStatus, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  if (status.nodes.length === 0) {
    process.stdout.write(`no lab nodes (dir ${status.dir})\n`);
    return;
  }
  process.stdout.write(`lab dir ${status.dir}\n`);
  for (const n of status.nodes) process.stdout.write(`${describe(n)}\n`);
  const first = status.nodes.find((n) => n.running);
  if (first) process.stdout.write(`\ntry: docker ${dockerCliArgs(first).join(' ')} info\n`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    args: process.argv.slice(2),
    allowPositionals: true,
    options: {
      nodes: { type: 'string', short: 'n' },
      'disk-gb': { type: 'string' },
      dir: { type: 'string' },
      json: { type: 'boolean', default: false },
      fresh: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [command, arg] = positionals;
  const dir = values.dir;
  const json = values.json ?? false;
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (process.getuid?.() !== 0) fail('the lab needs root (network namespaces, mounts, loop devices)');
  switch (command) {
    case 'up': {
      const started = Date.now();
      const diskGb = values['disk-gb'] === undefined ? undefined : intArg(values['disk-gb'], '--disk-gb');
      const status = await labUp({ nodes: intArg(values.nodes, '--nodes'), dir, diskGb });
      print(status, json);
      if (!json) process.stdout.write(`up in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
      return;
    }
    case 'down':
      await labDown({ dir });
      if (!json) process.stdout.write('lab removed\n');
      return;
    case 'status':
      print(await labStatus({ dir }), json);
      return;
    case 'pause':
    case 'resume':
    case 'kill': {
      const index = intArg(arg, 'node index');
      const action = { pause: pauseNode, resume: resumeNode, kill: killNode }[command];
      await action(index, { dir });
      if (!json) process.stdout.write(`lab${index}: ${command === 'kill' ? 'killed' : `${command}d`}\n`);
      return;
    }
    case 'restart': {
      const node = await restartNode(intArg(arg, 'node index'), { dir, fresh: values.fresh ?? false });
      process.stdout.write(json ? `${JSON.stringify(node, null, 2)}\n` : `${describe(node)}\n`);
      return;
    }
    case 'legacy': {
      if (arg === 'down') {
        await withLabLock(legacyDown);
        process.stdout.write('legacy server stopped\n');
        return;
      }
      const h = await legacyUp((line) => process.stderr.write(`kura-lab: ${line}\n`));
      process.stdout.write(json ? `${JSON.stringify(h, null, 2)}\n`
        : `legacy server: ssh ${h.user}@${h.host} (password ${h.password}); rootfs ${h.rootfs}\n`);
      return;
    }
    case 'env': {
      const index = intArg(arg, 'node index');
      const node = (await labStatus({ dir })).nodes.find((n) => n.index === index);
      if (!node) fail(`lab${index} does not exist`);
      process.stdout.write(`${dockerCliArgs(node).join(' ')}\n`);
      return;
    }
    default:
      fail(`unknown command "${command}"\n\n${USAGE}`);
  }
}

main().catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
