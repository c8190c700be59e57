/**
 * rmtree(path), the addon's removal of the private TMPDIR, judged from
 * outside: a tree the jailed command wrote cannot steer it elsewhere (a
 * symlink is removed, never followed), trees deeper than PATH_MAX go with
 * three descriptors, directories made read-only or 000 go as their
 * unprivileged owner, and it stays on one file system. Runs in children.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const REPO = path.resolve(__dirname, '..', '..');
const IS_ROOT = process.getuid?.() === 0;

let dir: string; // scratch: tree/ and outside/
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'jail-rmtree-')));
  fs.chmodSync(dir, 0o755);
});
afterEach(() => {
  spawnSync('chmod', ['-R', 'u+rwx', dir]);
  spawnSync('rm', ['-rf', dir]);
});

/** rmtree(p) in a child (as nobody: the raw addon, copied where nobody can
 *  read it, its errno named here); returns null or the error's fields. */
function rmtree(p: string, opts: { asNobody?: boolean; maxFds?: number } = {}): unknown {
  let addon = path.join(REPO, 'dist', 'native', 'binding.js');
  let load = `require(${JSON.stringify(addon)}).loadAddon()`;
  if (opts.asNobody) {
    addon = path.join(dir, 'jail.node');
    fs.copyFileSync((require('node-gyp-build') as { resolve(d: string): string }).resolve(REPO), addon);
    fs.chmodSync(addon, 0o755);
    load = `require(${JSON.stringify(addon)})`;
  }
  const src = `const addon = ${load};
try { addon.rmtree(${JSON.stringify(p)}); console.log('null') }
catch (e) { console.log(JSON.stringify({ code: e.code ?? require('util').getSystemErrorName(e.errno), errno: e.errno, syscall: e.syscall, step: e.step, path: e.path })) }`;
  const node = `'${process.execPath}' -e "$0"`;
  const sh = opts.maxFds ? `ulimit -n ${opts.maxFds} && exec ${node}` : `exec ${node}`;
  const argv = ['sh', '-c', sh, src];
  const r = opts.asNobody ? spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...argv], { encoding: 'utf8' }) : spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

/** Every path under `root` with its content or link target: what "unchanged" means. */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    const key = path.relative(root, p) || '.';
    if (st.isSymbolicLink()) out[key] = `-> ${fs.readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[key] = `dir ${(st.mode & 0o7777).toString(8)}`;
      for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    } else out[key] = `file ${(st.mode & 0o7777).toString(8)} ${fs.readFileSync(p, 'utf8')}`;
  };
  walk(root);
  return out;
}

/** A tree 2100 directories deep (4200 bytes of path), made with cd -P. */
function deepTree(top: string, asNobody = false) {
  fs.mkdirSync(top);
  const script = `cd "$0" && p=$(printf 'd/%.0s' $(seq 100)) && i=0 && while [ $i -lt 21 ]; do mkdir -p "$p" && cd -P "$p" || exit 1; i=$((i+1)); done && echo x > f && mkdir ro && chmod 500 ro`;
  if (asNobody) {
    fs.chownSync(top, 65534, 65534);
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script, top]);
  } else execFileSync('sh', ['-c', script, top]);
}

describe('rmtree()', () => {
  it('removes a symlink in the tree, never what it points to', () => {
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(path.join(outside, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(outside, 'id_ed25519'), 'secret\n');
    fs.writeFileSync(path.join(outside, 'sub', 'f'), 'kept\n');
    fs.chmodSync(path.join(outside, 'sub'), 0o555);
    const before = snapshot(outside);
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(path.join(tree, 'a', 'b'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'a', 'b', 'f'), '');
    fs.symlinkSync(outside, path.join(tree, 'to-dir'));
    fs.symlinkSync(path.join(outside, 'id_ed25519'), path.join(tree, 'a', 'to-file'));
    fs.symlinkSync(path.join(outside, 'sub'), path.join(tree, 'a', 'b', 'to-ro-dir'));
    expect(rmtree(tree)).toBeNull();
    expect(fs.existsSync(tree)).toBe(false);
    expect(snapshot(outside)).toEqual(before);
  });

  it('refuses a top that is itself a symlink (ENOTDIR), leaving its target alone', () => {
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'f'), 'kept\n');
    fs.symlinkSync(outside, path.join(dir, 'tree'));
    expect(rmtree(path.join(dir, 'tree'))).toEqual({ code: 'ENOTDIR', errno: -20, syscall: 'openat', step: 'rmtree', path: path.join(dir, 'tree') });
    expect(snapshot(outside)).toEqual({ '.': 'dir 755', f: 'file 644 kept\n' });
  });

  it('removes a tree deeper than PATH_MAX with at most a few descriptors (ulimit -n 26, node holds ~20)', () => {
    const tree = path.join(dir, 'tree');
    deepTree(tree);
    expect(rmtree(tree, { maxFds: 26 })).toBeNull();
    expect(fs.existsSync(tree)).toBe(false);
  });

  /** A directory nobody owns, as /tmp lets nobody remove its own TMPDIR. */
  const nobodys = () => {
    const p = path.join(dir, 'nobody');
    fs.mkdirSync(p);
    fs.chownSync(p, 65534, 65534);
    return p;
  };

  it.runIf(IS_ROOT)('as nobody: removes read-only, 000 and write-only directories the owner made, and a deep tree', () => {
    const tree = path.join(nobodys(), 'tree');
    deepTree(tree, true);
    execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c',
      'cd "$0" && for m in 500 000 300 100 600; do mkdir m$m && echo x > m$m/f && mkdir m$m/sub && chmod $m m$m; done', tree]);
    expect(rmtree(tree, { asNobody: true })).toBeNull();
    expect(fs.existsSync(tree)).toBe(false);
  });

  it.runIf(IS_ROOT)('as nobody: what it may not remove is an EACCES error, and the rest is left as it was', () => {
    const tree = path.join(nobodys(), 'tree');
    fs.mkdirSync(path.join(tree, 'roots'), { recursive: true });
    fs.writeFileSync(path.join(tree, 'roots', 'f'), 'root owns this\n');
    fs.chownSync(tree, 65534, 65534);
    expect(rmtree(tree, { asNobody: true })).toEqual({ code: 'EACCES', errno: -13, syscall: 'unlinkat', step: 'rmtree', path: tree });
    expect(fs.readFileSync(path.join(tree, 'roots', 'f'), 'utf8')).toBe('root owns this\n');
  });

  it('stays on its file system: a mount point inside is EXDEV, and what is mounted there is left alone', (ctx) => {
    const tree = path.join(dir, 'tree');
    const mnt = path.join(tree, 'mnt');
    fs.mkdirSync(mnt, { recursive: true });
    if (spawnSync('mount', ['-t', 'tmpfs', 'jail-rmtree', mnt]).status !== 0) ctx.skip('cannot mount a tmpfs here (needs CAP_SYS_ADMIN)');
    try {
      fs.writeFileSync(path.join(mnt, 'f'), 'on another file system\n');
      expect(rmtree(tree)).toEqual({ code: 'EXDEV', errno: -18, syscall: 'openat', step: 'rmtree', path: tree });
      expect(fs.readFileSync(path.join(mnt, 'f'), 'utf8')).toBe('on another file system\n');
    } finally {
      spawnSync('umount', [mnt]);
    }
  });

  it('a path that is missing or not absolute is a coded error', () => {
    expect(rmtree(path.join(dir, 'none'))).toEqual({ code: 'ENOENT', errno: -2, syscall: 'fstatat', step: 'rmtree', path: path.join(dir, 'none') });
    expect(rmtree('relative/dir')).toMatchObject({ code: 'EINVAL', step: 'rmtree' });
    expect(rmtree('/')).toMatchObject({ code: 'EINVAL', step: 'rmtree' });
  });
});

describe('lockDir() and dirLocked()', () => {
  const addon = () => (require(path.join(REPO, 'dist', 'native', 'binding.js')) as typeof import('../../src/native/binding.js')).loadAddon();
  it('the lock a live run holds is seen (by another process too) until it is given up; a flock on the directory neither meets it nor is stopped by it', () => {
    const a = addon();
    const tree = path.join(dir, 'tree');
    fs.mkdirSync(tree);
    const other = () => spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(path.join(REPO, 'dist', 'native', 'binding.js'))}).loadAddon().dirLocked(${JSON.stringify(tree)}))`], { encoding: 'utf8' }).stdout.trim();
    expect(a.dirLocked(tree)).toBe(false);
    const held = a.lockDir(tree);
    expect(held).toBeGreaterThan(2);
    expect(other()).toBe('true');
    // What the program may do with its TMPDIR: an exclusive flock.
    expect(spawnSync('flock', ['-n', '-x', tree, 'true']).status).toBe(0);
    a.close(held);
    expect(other()).toBe('false');
    fs.symlinkSync(tree, path.join(dir, 'link'));
    expect(() => a.lockDir(path.join(dir, 'link'))).toThrow(expect.objectContaining({ code: 'ENOTDIR', step: 'lock', syscall: 'open' }));
  });
});

describe('makeDir() and writeNew(): the private TMPDIR and its files (src/runsteps.ts, materialize)', () => {
  const addon = () => (require(path.join(REPO, 'dist', 'native', 'binding.js')) as typeof import('../../src/native/binding.js')).loadAddon();
  it('makes a new 0700 directory, locked, and new 0600 files with their text; never one whose name is taken', () => {
    const a = addon();
    const tmp = path.join(dir, 'jail-1-000000000001');
    const held = a.makeDir(tmp);
    expect([fs.statSync(tmp).mode & 0o777, a.dirLocked(tmp)]).toEqual([0o700, true]);
    a.writeNew(path.join(tmp, 'npmrc'), 'cache=/x é\n');
    expect([fs.readFileSync(path.join(tmp, 'npmrc'), 'utf8'), fs.statSync(path.join(tmp, 'npmrc')).mode & 0o777]).toEqual(['cache=/x é\n', 0o600]);
    a.writeNew(path.join(tmp, 'empty'), '');
    expect(fs.readFileSync(path.join(tmp, 'empty'), 'utf8')).toBe('');
    expect(() => a.writeNew(path.join(tmp, 'npmrc'), 'again')).toThrow(expect.objectContaining({ code: 'EEXIST', step: 'tmpdir', syscall: 'open' }));
    expect(() => a.makeDir(tmp)).toThrow(expect.objectContaining({ code: 'EEXIST', step: 'tmpdir', syscall: 'mkdir', path: tmp }));
    a.close(held);
    expect(a.dirLocked(tmp)).toBe(false);
  });

  it('attack: a symlink planted at a name is never followed: the file it points to is unchanged, nothing is made where a dangling one points', () => {
    const a = addon();
    const tmp = path.join(dir, 'jail-1-000000000002');
    a.close(a.makeDir(tmp));
    const outside = path.join(dir, 'outside.txt');
    fs.writeFileSync(outside, 'keep');
    fs.symlinkSync(outside, path.join(tmp, 'gitconfig'));
    fs.symlinkSync(path.join(dir, 'made-through-link'), path.join(tmp, 'npmrc'));
    fs.symlinkSync(path.join(dir, 'made-through-link-dir'), path.join(dir, 'jail-1-000000000003'));
    expect(() => a.writeNew(path.join(tmp, 'gitconfig'), 'planted')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => a.writeNew(path.join(tmp, 'npmrc'), 'planted')).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(() => a.makeDir(path.join(dir, 'jail-1-000000000003'))).toThrow(expect.objectContaining({ code: 'EEXIST' }));
    expect(fs.readFileSync(outside, 'utf8')).toBe('keep');
    expect(fs.existsSync(path.join(dir, 'made-through-link'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'made-through-link-dir'))).toBe(false);
  });
});
