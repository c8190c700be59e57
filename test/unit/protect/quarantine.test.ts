/**
 * The quarantine: across file systems (a copy that follows nothing, then
 * the original removed), execute and setuid bits stripped, a hardlinked
 * planted file copied so that its other name keeps its mode; and the report
 * on stderr, every path escaped.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultQuarantineRoot, formatRestore, restore, snapshot } from '../../../src/protect/index.js';
import { gitRepo, keep, listing, NOW, PID, runAttack, scratch, STAMP, track, tree } from './helpers.js';

const shm = '/dev/shm';
const otherFs = fs.existsSync(shm) && fs.statSync(shm).dev !== fs.statSync(fs.realpathSync(require('node:os').tmpdir())).dev;

describe('quarantine', () => {
  it.skipIf(!otherFs)('across file systems (/dev/shm vs the tmpdir): copies without following, strips bits, removes the original', () => {
    const s = scratch();
    const qroot = fs.mkdtempSync(`${shm}/jail-q-`);
    track(qroot);
    gitRepo(s.p);
    const hooks = `${s.p}/.git/hooks`;
    const before = listing(hooks);
    const outside = listing(s.outside);
    const r = runAttack({ ...s, qroot }, [keep(hooks, 'dir', 'git hooks'), keep(`${s.p}/.husky`, 'absent', 'husky')], () => {
      fs.writeFileSync(`${hooks}/pre-commit`, 'evil', { mode: 0o6755 });
      tree(s.p, { '.husky/pre-commit': { text: 'evil', mode: 0o755 }, '.husky/_/h': 'x', '.husky/key': { link: `${s.outside}/id_ed25519` } });
    });
    const q = `${qroot}/${STAMP}`;
    expect(r.quarantine).toBe(q);
    expect(listing(hooks)).toEqual(before);
    expect(fs.existsSync(`${s.p}/.husky`)).toBe(false);
    expect(listing(`${q}${s.p}/.husky`)).toEqual({ '_': 'dir 700', '_/h': '644 x', 'key': `-> ${s.outside}/id_ed25519`, 'pre-commit': '644 evil' });
    expect(fs.statSync(`${q}${hooks}/pre-commit`).mode & 0o7777).toBe(0o644);
    expect(listing(s.outside)).toEqual(outside);
  });

  it('copies a hardlinked planted file, so its other name keeps its mode and content', () => {
    const s = scratch();
    gitRepo(s.p);
    tree(s.p, { 'scripts/build.sh': { text: '#!/bin/sh\nmake\n', mode: 0o755 } });
    const hooks = `${s.p}/.git/hooks`;
    runAttack(s, [keep(hooks, 'dir')], () => fs.linkSync(`${s.p}/scripts/build.sh`, `${hooks}/pre-commit`));
    expect(fs.existsSync(`${hooks}/pre-commit`)).toBe(false);
    expect(fs.statSync(`${s.p}/scripts/build.sh`).mode & 0o777).toBe(0o755);
    expect(fs.statSync(`${s.qdir}${hooks}/pre-commit`).mode & 0o777).toBe(0o644);
    expect(fs.statSync(`${s.qdir}${hooks}/pre-commit`).nlink).toBe(1);
  });

  it('defaults to $XDG_STATE_HOME/jail/quarantine, else ~/.local/state', () => {
    expect(defaultQuarantineRoot({ XDG_STATE_HOME: '/x/state', HOME: '/home/u' })).toBe('/x/state/jail/quarantine');
    expect(defaultQuarantineRoot({ XDG_STATE_HOME: 'relative', HOME: '/home/u' })).toBe('/home/u/.local/state/jail/quarantine');
    expect(defaultQuarantineRoot({ HOME: '/home/u' })).toBe('/home/u/.local/state/jail/quarantine');
  });
});

describe('formatRestore', () => {
  it('one line per change, aligned, with the quarantine named and names escaped', () => {
    const s = scratch();
    gitRepo(s.p);
    const hooks = `${s.p}/.git/hooks`;
    const cfg = `${s.p}/.git/config`;
    const r = runAttack(s, [keep(hooks, 'dir', 'git hooks'), keep(cfg, 'file', 'git config')], () => {
      fs.writeFileSync(`${hooks}/pre-commit`, 'evil');
      fs.writeFileSync(`${hooks}/x\x1b]0;owned\x07\ny`, 'evil');
      fs.appendFileSync(cfg, 'evil');
    });
    const text = formatRestore(r);
    expect(text).not.toMatch(/\x1b|\x07/);
    const w = `${hooks}/x\\x1b]0;owned\\x07\\x0ay`.length;
    expect(text.split('\n')).toEqual([
      `jail: the command changed what runs later outside the jail; reverted (kept for review in ${s.qdir}):`,
      `  created  ${`${hooks}/pre-commit`.padEnd(w)}  (git hooks)`,
      `  created  ${hooks}/x\\x1b]0;owned\\x07\\x0ay  (git hooks)`,
      `  changed  ${cfg.padEnd(w)}  (git config)`,
      '',
    ]);
  });

  it('says what could not be restored, and nothing at all when nothing changed', () => {
    expect(formatRestore({ changes: [], quarantine: null, notes: [] })).toBe('');
    const text = formatRestore({ changes: [{ what: 'removed', path: '/p/.git', why: 'git repository', action: 'could-not-restore', note: 'the original was removed' }], quarantine: null, notes: ['a note'] });
    expect(text).toBe('jail: the command changed what runs later outside the jail; reverted what it could:\n  removed  /p/.git  (git repository): COULD NOT RESTORE (the original was removed)\njail: warning: a note\n');
  });
});


describe('quarantine limits', () => {
  it('hard links to a big sparse file: copied within the copy limit only, the rest of their names removed; the file itself untouched', () => {
    const s = scratch();
    gitRepo(s.p);
    const hooks = `${s.p}/.git/hooks`;
    const big = `${s.p}/big`;
    fs.writeFileSync(big, '#!/bin/sh\n');
    fs.truncateSync(big, 4 << 20); // sparse: no disk where it is
    fs.chmodSync(big, 0o755);
    const limits = { copyBytes: 6 << 20, entries: 20_000 };
    const snap = snapshot([keep(hooks, 'dir', 'git hooks'), keep(`${s.p}/.husky`, 'absent', 'husky')]);
    for (const h of ['pre-commit', 'pre-push', 'post-checkout']) fs.linkSync(big, `${hooks}/${h}`);
    fs.mkdirSync(`${s.p}/.husky`);
    fs.linkSync(big, `${s.p}/.husky/pre-commit`); // in a tree moved whole: stripped, so copied
    const r = restore(snap, { quarantineRoot: s.qroot, now: NOW, pid: PID, limits });
    const names = ['pre-commit', 'pre-push', 'post-checkout'];
    for (const h of names) expect(fs.existsSync(`${hooks}/${h}`)).toBe(false);
    expect(fs.existsSync(`${s.p}/.husky`)).toBe(false);
    // What the quarantine holds: one copy (4 MiB of 6), the other names not.
    let bytes = 0;
    const walk = (d: string) => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(`${d}/${e.name}`);
        else if (e.isFile()) bytes += fs.statSync(`${d}/${e.name}`).size;
      }
    };
    walk(s.qdir);
    expect(bytes).toBeLessThanOrEqual(limits.copyBytes);
    expect(r.notes.filter((n) => /hard link too large to copy/.test(n))).toHaveLength(3);
    expect(fs.statSync(big).size).toBe(4 << 20);
    expect(fs.statSync(big).mode & 0o777).toBe(0o755);
    expect(fs.statSync(big).nlink).toBe(1);
  });
});
