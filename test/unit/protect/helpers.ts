/**
 * Scratch trees for the detect-and-restore tests: a project, a place
 * "outside" it that must never change, and a quarantine root of the test's
 * own (never the real HOME).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach } from 'vitest';
import { restore, snapshot, type RestoreResult } from '../../../src/protect/index.js';
import type { Guard } from '../../../src/policy/model.js';

const made: string[] = [];
afterEach(() => {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

export const NOW = new Date(2026, 11, 2, 3, 45, 0);
export const PID = 1234;
export const STAMP = '20261202-034500-1234';

export interface Scratch {
  root: string;
  /** The project (a real path: guard paths have no symlink in them). */
  p: string;
  /** Where the quarantine goes. */
  qroot: string;
  /** The run's quarantine directory, once something went there. */
  qdir: string;
  /** A directory outside the project, with a secret in it. */
  outside: string;
}

export function scratch(base = os.tmpdir()): Scratch {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(base, 'jail-protect-')));
  made.push(root);
  const p = `${root}/p`;
  const outside = `${root}/outside`;
  fs.mkdirSync(p);
  fs.mkdirSync(outside);
  fs.writeFileSync(`${outside}/id_ed25519`, 'SECRET KEY\n', { mode: 0o600 });
  return { root, p, qroot: `${root}/q`, qdir: `${root}/q/${STAMP}`, outside };
}

/** Extra directories to remove after the test (another file system). */
export function track(dir: string): void {
  made.push(dir);
}

/** Files (string: content; {mode}), directories (null), symlinks ({link}). */
export type Spec = Record<string, string | null | { text: string; mode: number } | { link: string }>;

export function tree(base: string, spec: Spec): void {
  for (const [rel, v] of Object.entries(spec)) {
    const p = path.join(base, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    if (v === null) fs.mkdirSync(p, { recursive: true });
    else if (typeof v === 'string') fs.writeFileSync(p, v);
    else if ('link' in v) fs.symlinkSync(v.link, p);
    else {
      fs.writeFileSync(p, v.text);
      fs.chmodSync(p, v.mode);
    }
  }
}

/** Every entry under dir: relative path → what it is (content, mode, target). */
export function listing(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const n of fs.readdirSync(d).sort()) {
      const p = path.join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      const st = fs.lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `-> ${fs.readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(p, r);
      } else if (st.isFile()) out[r] = `${mode} ${fs.readFileSync(p, 'latin1')}`;
      else out[r] = `other ${mode}`;
    }
  };
  walk(dir, '');
  return out;
}

/** The git sample hooks' names, as `git init` makes them. */
export const SAMPLE_HOOKS = [
  'applypatch-msg', 'commit-msg', 'fsmonitor-watchman', 'post-update', 'pre-applypatch', 'pre-commit', 'pre-merge-commit',
  'pre-push', 'pre-rebase', 'pre-receive', 'prepare-commit-msg', 'push-to-checkout', 'sendemail-validate', 'update',
].map((n) => `${n}.sample`);

/** A repository's .git as git makes it, enough for the guards. */
export function gitRepo(p: string): void {
  tree(p, { '.git/HEAD': 'ref: refs/heads/main\n', '.git/config': '[core]\n\tbare = false\n', '.git/objects': null, '.git/refs/heads': null });
  for (const h of SAMPLE_HOOKS) tree(p, { [`.git/hooks/${h}`]: { text: `#!/bin/sh\n# ${h}\n${'echo sample\n'.repeat(80)}`, mode: 0o755 } });
}

export const keep = (p: string, kind: 'file' | 'dir' | 'symlink' | 'absent', why = 'test'): Guard => ({ mode: 'keep', path: p, kind, why });

/** Snapshot, let `attack` act on the tree, restore into the scratch quarantine. */
export function runAttack(s: Scratch, guards: Guard[], attack: () => void, budget?: { bytes: number; entries: number }): RestoreResult {
  const snap = snapshot(guards, budget ? { budget } : {});
  attack();
  return restore(snap, { quarantineRoot: s.qroot, now: NOW, pid: PID });
}
