/**
 * The /etc scan: the addon's one-call walk (native/scan.c) against the walk
 * in JavaScript it replaced, on the real /etc (it only reads), and the
 * judging of a scan on a fake host.
 */
import { spawnSync } from 'node:child_process';
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { afterAll, describe, expect, it } from 'vitest';
import { realHost, scanTreeEarly } from '../../../src/host.js';
import { loadAddon } from '../../../src/native/binding.js';
import { readableTree } from '../../../src/policy/base.js';
import type { Host, ScanEntry } from '../../../src/policy/host.js';
import type { PathGrant } from '../../../src/policy/model.js';
import { grantOf } from '../../../src/policy/paths.js';
import { walkTree } from '../../../src/policy/scan.js';
import { fakeHost } from '../fakehost.js';

const host = realHost();

/** readableTree as it was before the scan: readdir and lstat per entry,
 *  with the identity added (the scan brings it; the old walk had none). */
function walkedTree(dir: string, h: Host): { all: boolean; grants: PathGrant[]; leftOut: number; covers: Array<{ path: string; isDir: boolean }> } {
  const grants: PathGrant[] = [];
  const covers: Array<{ path: string; isDir: boolean }> = [];
  let all = true;
  let leftOut = 0;
  for (const e of h.readdir(dir)) {
    if (e.isSymlink) continue;
    const p = `${dir}/${e.name}`;
    const st = h.identify(p);
    if (!st || st.isSymlink) continue;
    const source = { kind: 'base', what: '/etc' } as const;
    if (st.isDir) {
      if ((st.mode & 0o005) !== 0o005) {
        all = false;
        leftOut++;
        covers.push({ path: p, isDir: true });
        continue;
      }
      const sub = walkedTree(p, h);
      if (sub.all) grants.push(grantOf({ real: p, st }, 'ro', source));
      else {
        all = false;
        leftOut += sub.leftOut;
        grants.push(...sub.grants);
        covers.push(...sub.covers);
      }
    } else if (st.mode & 0o004) {
      grants.push(grantOf({ real: p, st }, 'ro', source));
    } else {
      all = false;
      leftOut++;
      covers.push({ path: p, isDir: false });
    }
  }
  return { all, grants, leftOut, covers };
}

/** What a scan entry says, without fields only one side has (uid). */
const shape = (e: ScanEntry) => ({ path: e.path, isDir: e.isDir, isFile: e.isFile, isSymlink: e.isSymlink, mode: e.mode, dev: e.dev, ino: e.ino, incomplete: e.incomplete });

describe('the /etc scan on this machine', () => {
  it('lists what a walk through readdir and lstat lists, identities included', () => {
    const native = host.scanTree('/etc', 32);
    expect(native).not.toBeNull();
    expect(native!.map(shape)).toEqual(walkTree(host, '/etc', 32)!.map(shape));
    // The addon's own answer, not walkTree's as a stand-in.
    expect(loadAddon().scanTree('/etc', 32).meta.length).toBe(3 * native!.length);
  });
  it('started early on the addon\'s thread, gives what the scan gives then (once, for that root and depth)', () => {
    const now = host.scanTree('/etc', 32)!.map(shape);
    expect(scanTreeEarly('/etc', 32)).toBe(true);
    expect(scanTreeEarly('/etc', 32)).toBe(false); // one at a time
    expect(loadAddon().scanTreeTake('/etc', 31)).toBeNull(); // another depth: not that one
    expect(host.scanTree('/etc', 32)!.map(shape)).toEqual(now);
    expect(loadAddon().scanTreeTake('/etc', 32)).toBeNull(); // taken
    // A root that cannot be opened: what the scan says, when taken.
    expect(scanTreeEarly('/nonexistent-jail-test', 2)).toBe(true);
    expect(host.scanTree('/nonexistent-jail-test', 2)).toBeNull();
    expect(loadAddon().scanTreeTake('/nonexistent-jail-test', 2)).toBeNull();
  });
  it('grants what the walk in JavaScript granted, with the identities checked at open', () => {
    const scanned = readableTree('/etc', host);
    const walked = walkedTree('/etc', host);
    expect(scanned).toEqual(walked);
    for (const g of scanned.grants) {
      const st = fs.lstatSync(g.path, { bigint: true });
      expect([g.dev, g.ino]).toEqual([st.dev, st.ino]);
    }
  });
});

describe('the scan of a tree', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-scan-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(`${dir}/a/b/c`, { recursive: true });
  fs.writeFileSync(`${dir}/a/b/c/deep`, 'x');
  fs.writeFileSync(`${dir}/a/secret`, 'x', { mode: 0o600 });
  fs.symlinkSync('a', `${dir}/link`);

  it('follows no symlink, lists none, and leaves directories past maxDepth incomplete', () => {
    const got = host.scanTree(dir, 2)!.map((e) => `${e.path || '.'}${e.isDir ? '/' : e.isSymlink ? '@' : ''}${e.incomplete ? ' incomplete' : ''}`);
    expect(got).toEqual(['./', 'a/', 'a/b/', 'a/b/c/ incomplete', 'a/secret']);
    expect(host.scanTree(dir, 2)!.map(shape)).toEqual(walkTree(host, dir, 2)!.map(shape));
  });
  it('is checked again without listing it (scanTreeVerify): a mode changed, a name added or renamed, a directory made a link: not the same', async () => {
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-verify-'));
    try {
      fs.mkdirSync(`${tree}/a/b`, { recursive: true });
      fs.writeFileSync(`${tree}/a/b/file`, 'x', { mode: 0o644 });
      fs.writeFileSync(`${tree}/a/other`, 'x', { mode: 0o644 });
      const addon = loadAddon();
      /** A scan of the tree now, as a stored plan keeps it for its check:
       *  the names, the words' bytes, the directories' times. */
      const checkOf = () => {
        const raw = addon.scanTree(tree, 8);
        const dirs = [...raw.names.split('\0').keys()].filter((i) => Number(raw.meta[3 * i]! & 0o170000n) === 0o040000);
        const times = new BigUint64Array(dirs.flatMap((i) => [raw.times[2 * i]!, raw.times[2 * i + 1]!]));
        return [raw.names, new Uint8Array(raw.meta.buffer), new Uint8Array(times.buffer)] as const;
      };
      const holds = () => {
        const c = checkOf();
        return () => addon.scanTreeVerify(tree, 8, ...c);
      };
      const tick = () => new Promise((r) => setTimeout(r, 30)); // past the file system clock's tick
      let same = holds();
      expect(same()).toBe(true);
      fs.chmodSync(`${tree}/a/b/file`, 0o600); // no directory's times move
      expect(same()).toBe(false);
      fs.chmodSync(`${tree}/a/b/file`, 0o644);
      expect(same()).toBe(true); // the same again
      await tick();
      fs.writeFileSync(`${tree}/a/b/new`, 'x', { mode: 0o600 });
      expect(same()).toBe(false);
      same = holds();
      await tick();
      fs.renameSync(`${tree}/a/b/new`, `${tree}/a/b/moved`);
      expect(same()).toBe(false);
      same = holds();
      fs.renameSync(`${tree}/a/b`, `${tree}/a/b.old`);
      fs.symlinkSync('b.old', `${tree}/a/b`);
      expect(same()).toBe(false);
      // Started on the addon's thread, and taken: once, for that root and depth.
      const [names, meta, times] = checkOf();
      expect(addon.scanTreeVerifyStart(tree, 8, names, meta, times)).toBe(true);
      expect(addon.scanTreeTake(tree, 8)).toBeNull(); // a check is no scan
      expect(addon.scanTreeVerifyTake(tree, 7)).toBeNull();
      expect(addon.scanTreeVerifyTake(tree, 8)).toBe(true);
      expect(addon.scanTreeVerifyTake(tree, 8)).toBeNull();
      // A malformed check is refused, not taken as the same.
      expect(() => addon.scanTreeVerify(tree, 8, names, meta.subarray(8), times)).toThrow(/three words per name/);
      expect(() => addon.scanTreeVerify(tree, 8, names, meta, times.subarray(8))).toThrow(/two words per directory/);
      expect(() => addon.scanTreeVerify(tree, 8, names, meta, times.subarray(16))).toThrow(/two words per directory/);
      expect(addon.scanTreeVerify(`${tree}/gone`, 8, names, meta, times)).toBe(false);
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });
  it('gives a directory its times only once they had settled when it was listed', async () => {
    const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-settled-'));
    try {
      fs.mkdirSync(`${tree}/d`);
      expect(host.scanTree(tree, 4)!.filter((e) => e.times)).toEqual([]); // just made
      await new Promise((r) => setTimeout(r, 2100));
      expect(host.scanTree(tree, 4)!.filter((e) => e.times).map((e) => e.path)).toEqual(['', 'd']);
    } finally {
      fs.rmSync(tree, { recursive: true, force: true });
    }
  });
  it('is null for what is no directory', () => {
    expect(host.scanTree(`${dir}/link`, 1)).toBeNull();
    expect(host.scanTree(`${dir}/nonexistent`, 1)).toBeNull();
    expect(host.scanTree(`${dir}/a/secret`, 1)).toBeNull();
  });
});

describe('judging a scan', () => {
  const tree = {
    '/etc/passwd': 'x',
    '/etc/ssl/certs/ca.pem': 'x',
    '/etc/ssl/private/key.pem': { file: 'KEY', mode: 0o600 },
    '/etc/deep/x': 'x',
  };
  it('grants an incomplete directory never whole, only what was listed in it', () => {
    const h = fakeHost(tree, { uid: 0 });
    const incomplete = (e: ScanEntry) => (e.path === 'deep' ? { ...e, incomplete: true } : e);
    const scanned: Host = { ...h, scanTree: (root, d) => walkTree(h, root, d)!.map(incomplete) };
    expect(readableTree('/etc', h).grants.map((g) => g.path)).toContain('/etc/deep');
    const r = readableTree('/etc', scanned);
    expect(r.grants.map((g) => g.path)).toEqual(['/etc/deep/x', '/etc/passwd', '/etc/ssl/certs']);
    expect(r.all).toBe(false);
  });
  it('grants nothing when the tree cannot be scanned', () => {
    const h = fakeHost(tree, { uid: 0, scanTree: () => null });
    expect(readableTree('/etc', h)).toEqual({ all: false, grants: [], leftOut: 0, covers: [] });
  });
  it('takes a tree whose root is incomplete as not all readable', () => {
    const h = fakeHost({ '/etc/passwd': 'x' }, { uid: 0 });
    const scanned: Host = { ...h, scanTree: (root, d) => walkTree(h, root, d)!.map((e) => (e.path === '' ? { ...e, incomplete: true } : e)) };
    expect(readableTree('/etc', h).all).toBe(true);
    expect(readableTree('/etc', scanned)).toMatchObject({ all: false, grants: [{ path: '/etc/passwd' }] });
  });
});

describe('a scan kept between runs (a lasting host: the library)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-kept-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(`${dir}/sub/deeper`, { recursive: true });
  fs.writeFileSync(`${dir}/sub/file`, 'x', { mode: 0o644 });
  const addon = loadAddon();
  const modes = (r: { names: string; meta: BigUint64Array }) => Object.fromEntries(r.names.split('\0').map((n, i) => [n, Number(r.meta[3 * i]! & 0o7777n).toString(8)]));
  /** The kept answer, checked against a fresh scan of the same tree. */
  const kept = () => {
    const k = addon.scanTreeKept(dir, 8);
    const fresh = addon.scanTree(dir, 8);
    expect([k.names, [...k.meta]]).toEqual([fresh.names, [...fresh.meta]]);
    return k;
  };

  it('is given again while nothing in the tree changes, and scanned again after any change that could change a grant', () => {
    const first = kept();
    expect(first.kept).toBe(false);
    expect(kept()).toMatchObject({ kept: true, generation: first.generation });
    expect(kept().kept).toBe(true);
    // A file made unreadable to others, deep down: the next answer says so,
    // and is another scan (a copy of the first, as each worker thread keeps
    // one, is not it).
    fs.chmodSync(`${dir}/sub/file`, 0o600);
    const after = kept();
    expect(after.kept).toBe(false);
    expect(after.generation).not.toBe(first.generation);
    expect(modes(after)['sub/file']).toBe('600');
    expect(kept()).toMatchObject({ kept: true, generation: after.generation });
    // A directory's own mode, a new name, a rename, a removal.
    for (const change of [
      () => fs.chmodSync(`${dir}/sub/deeper`, 0o700),
      () => fs.chmodSync(dir, 0o711),
      () => fs.writeFileSync(`${dir}/sub/deeper/new`, 'x'),
      () => fs.renameSync(`${dir}/sub/deeper/new`, `${dir}/sub/renamed`),
      () => fs.rmSync(`${dir}/sub/renamed`),
      () => fs.mkdirSync(`${dir}/sub/deeper/dir`),
    ]) {
      change();
      expect(kept().kept).toBe(false);
      expect(kept().kept).toBe(true);
    }
    // A mode changed through a hard link from outside the tree: inotify
    // tells a directory's watch only of changes made through its own names.
    const link = `${dir}-link`;
    fs.linkSync(`${dir}/sub/file`, link);
    try {
      kept(); // whether the link itself was seen or not
      expect(kept().kept).toBe(true);
      fs.chmodSync(link, 0o644);
      const through = kept();
      expect(through.kept).toBe(false);
      expect(modes(through)['sub/file']).toBe('644');
      expect(kept().kept).toBe(true);
    } finally {
      fs.rmSync(link, { force: true });
    }
    kept();
    // Content is not what a scan reports: writing keeps it.
    fs.writeFileSync(`${dir}/sub/file`, 'changed');
    expect(kept().kept).toBe(true);
    // Another root (or depth) is scanned, and the first one again after it.
    expect(addon.scanTreeKept(`${dir}/sub`, 8).kept).toBe(false);
    expect(addon.scanTreeKept(dir, 7).kept).toBe(false);
    expect(kept().kept).toBe(false);
  });
  it.runIf(process.getuid?.() === 0)('(root) is scanned again after a change of owner, and after a mount over one of its entries, which inotify does not report', () => {
    kept();
    expect(kept().kept).toBe(true);
    fs.chownSync(`${dir}/sub/file`, 65534, 65534);
    expect(kept().kept).toBe(false);
    expect(kept().kept).toBe(true);
    const secret = path.join(dir, '..', `${path.basename(dir)}-secret`);
    fs.writeFileSync(secret, 'x', { mode: 0o600 });
    try {
      const m = spawnSync('mount', ['--bind', secret, `${dir}/sub/file`]);
      expect(m.status, String(m.stderr)).toBe(0);
      const over = kept();
      expect(over.kept).toBe(false);
      expect(modes(over)['sub/file']).toBe('600');
      expect(kept().kept).toBe(true);
    } finally {
      spawnSync('umount', [`${dir}/sub/file`]);
      fs.rmSync(secret, { force: true });
    }
    expect(kept().kept).toBe(false);
  });
  it('is never kept for a tree on a file system whose changes may not pass through this kernel (sysfs and procfs stand in for NFS or FUSE)', () => {
    kept();
    expect(kept().kept).toBe(true); // the temp tree's file system is a local one
    for (const root of ['/sys/kernel', '/proc/sys/net']) {
      expect(addon.scanTreeKept(root, 1).kept).toBe(false);
      expect(addon.scanTreeKept(root, 1).kept).toBe(false);
    }
  });
  it('is null, not kept, for a root that cannot be scanned; the real host converts a kept scan once', () => {
    expect(() => addon.scanTreeKept(`${dir}/nonexistent`, 8)).toThrow();
    expect(kept().kept).toBe(false);
    const lasting = realHost(process.env, dir, true);
    const a = lasting.scanTree(dir, 8);
    const b = lasting.scanTree(dir, 8);
    expect(b).toBe(a); // the same frozen entries: nothing changed
    expect(Object.isFrozen(a![0])).toBe(true);
    fs.chmodSync(`${dir}/sub/file`, 0o640);
    const c = lasting.scanTree(dir, 8);
    expect(c).not.toBe(a);
    expect(c!.find((e) => e.path === 'sub/file')!.mode & 0o777).toBe(0o640);
    expect(realHost(process.env, dir, true).scanTree(dir, 8)).toBe(c);
    expect(realHost(process.env, dir).scanTree(dir, 8)).not.toBe(c); // a one-shot host scans
  });
});

describe("a kept scan's judgement (the library's root, run after run)", () => {
  const tree = { '/etc/hosts': 'h', '/etc/shadow': { file: 's', mode: 0o600 }, '/etc/ssl/private': { dir: true, mode: 0o700 }, '/etc/ssl/certs/a.pem': 'c' } as const;
  const base = fakeHost(tree);
  /** A host whose scanTree hands out `entries` as the real lasting host
   *  does: the same frozen array while the tree is unchanged. */
  const keptHost = (entries: () => ScanEntry[]): Host => ({ ...base, scanTree: () => entries() });
  const freeze = (e: ScanEntry[]) => Object.freeze(e.map((x) => Object.freeze(x))) as ScanEntry[];

  it('is made once per kept scan, frozen, and equal to a fresh judgement', () => {
    const kept = freeze(base.scanTree('/etc', 32)!);
    const h = keptHost(() => kept);
    const first = readableTree('/etc', h);
    expect(readableTree('/etc', h)).toBe(first);
    expect(Object.isFrozen(first.grants) && first.grants.every((g) => Object.isFrozen(g) && Object.isFrozen(g.source))).toBe(true);
    expect(first).toEqual(readableTree('/etc', base));
    expect(first.grants.map((g) => g.path)).toEqual(['/etc/hosts', '/etc/ssl/certs']);
  });

  it('is made again for a new scan: a file made secret since is left out', () => {
    let entries = freeze(base.scanTree('/etc', 32)!);
    const h = keptHost(() => entries);
    expect(readableTree('/etc', h).grants.map((g) => g.path)).toContain('/etc/hosts');
    // The addon rescans after a change: a new array, hosts now 0600.
    entries = freeze(fakeHost({ ...tree, '/etc/hosts': { file: 'h', mode: 0o600 } }).scanTree('/etc', 32)!);
    const after = readableTree('/etc', h);
    expect(after.grants.map((g) => g.path)).not.toContain('/etc/hosts');
    expect(after.covers).toContainEqual({ path: '/etc/hosts', isDir: false });
  });

  it('is not kept for a scan that is not frozen (the CLI, a fake host)', () => {
    expect(readableTree('/etc', base)).not.toBe(readableTree('/etc', base));
  });
});
