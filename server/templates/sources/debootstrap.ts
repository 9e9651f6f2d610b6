import fs from 'node:fs';
import path from 'node:path';
import type { Template } from '../../domain/types.js';
import { run } from '../../lib/exec.js';
import type { RootfsSource } from './source.js';

/**
 * An OS template built from Debian packages: debootstrap's minbase variant plus the
 * template's packages, from the mirror this host's apt already uses.
 */
export function debootstrapSource(mirror: string | undefined): RootfsSource {
  return {
    async fingerprint(template) {
      const s = spec(template);
      return `debootstrap:${s.suite}:${s.variant}:${s.include.join(',')}:${mirror ?? detectMirror()}`;
    },

    async build(template, rootfs, log) {
      const s = spec(template);
      const args = [`--variant=${s.variant}`];
      if (s.include.length > 0) args.push(`--include=${s.include.join(',')}`);
      args.push(s.suite, rootfs, mirror ?? detectMirror());
      log(`debootstrap ${args.join(' ')}`);
      if (!fs.existsSync('/usr/sbin/debootstrap')) {
        throw new Error('debootstrap is missing: install the Debian package debootstrap');
      }
      await run('/usr/sbin/debootstrap', args, { timeoutMs: 15 * 60_000 });
      // Package caches and device nodes do not belong in a template: Docker provides /dev.
      for (const dir of ['var/cache/apt/archives', 'var/lib/apt/lists', 'dev']) {
        const full = path.join(rootfs, dir);
        for (const entry of fs.readdirSync(full)) {
          if (entry !== 'partial' && entry !== 'lock') fs.rmSync(path.join(full, entry), { recursive: true, force: true });
        }
      }
    },
  };
}

function spec(template: Template) {
  if (template.source.type !== 'debootstrap') throw new Error(`template ${template.id} is not a debootstrap template`);
  return template.source;
}

/** The Debian mirror apt is configured with (deb822 .sources files or sources.list). */
export function detectMirror(): string {
  const candidates: string[] = [];
  const dir = '/etc/apt/sources.list.d';
  if (fs.existsSync(dir)) {
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.sources')).sort()) {
      const text = fs.readFileSync(path.join(dir, f), 'utf8');
      for (const stanza of text.split(/\n\s*\n/)) {
        if (!/^Suites:.*\bbookworm\b(?!-)/m.test(stanza)) continue;
        const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
        if (uri && /\/debian\/?$/.test(uri)) candidates.push(uri);
      }
    }
  }
  if (fs.existsSync('/etc/apt/sources.list')) {
    for (const line of fs.readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian\/?)\s+\S+/.exec(line.trim());
      if (m?.[1]) candidates.push(m[1]);
    }
  }
  const mirror = candidates[0];
  if (!mirror) throw new Error('no Debian mirror found in apt sources; set KURA_DEBIAN_MIRROR');
  return mirror;
}
