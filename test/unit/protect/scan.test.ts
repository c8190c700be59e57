/**
 * scan and worktrees guards: new `.git` entries (and other names) under the
 * tree go to the quarantine, but for what git itself makes: a linked
 * worktree's `.git` file into the repository's gitdirs, and a worktree entry
 * as `git worktree add` writes it.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Guard } from '../../../src/policy/model.js';
import { gitRepo, runAttack, scratch, tree } from './helpers.js';

describe('scan', () => {
  const scanOf = (p: string, before: string[] = []): Extract<Guard, { mode: 'scan' }> => ({
    mode: 'scan',
    path: p,
    depth: 3,
    names: ['.git', '.envrc', '.env.*'],
    before,
    gitdirs: [`${p}/.git/worktrees/*`, `${p}/.git/modules/sm`],
    why: 'nested repositories',
  });

  it('quarantines new .git entries, keeps those before and a worktree\'s .git file, skips node_modules and deep ones', () => {
    const s = scratch();
    gitRepo(s.p);
    tree(s.p, { 'vendor/lib/.git': 'gitdir: ../../.git/modules/lib\n', 'a/b/file': 'x' });
    const r = runAttack(s, [scanOf(s.p, [`${s.p}/.git`, `${s.p}/vendor/lib/.git`])], () => {
      tree(s.p, {
        'a/.git/hooks/pre-commit': 'evil', // a new repository
        'a/b/.git': 'gitdir: /tmp/evil\n', // a gitdir file pointing anywhere
        'wt/.git': 'gitdir: ../.git/worktrees/wt\n', // git worktree add
        'sneaky/.git': 'gitdir: ../.git/worktrees/../../../evil\n', // .. out of the gitdirs
        'deeper/.git': 'gitdir: ../.git/worktrees/wt/x\n', // a gitdir made inside a worktree's entry
        'insub/.git': 'gitdir: ../.git/modules/sm/a/b\n', // or below a submodule's
        'sm/.git': 'gitdir: ../.git/modules/sm\n', // the submodule's own
        'a/.envrc': 'evil',
        'a/.env.local': 'evil',
        'node_modules/x/.git/HEAD': 'x',
        'a/b/c/.git/HEAD': 'too deep',
      });
      fs.symlinkSync(`${s.outside}`, `${s.p}/a/b/linked`);
    });
    const planted = ['a/.git', 'a/b/.git', 'sneaky/.git', 'deeper/.git', 'insub/.git', 'a/.envrc', 'a/.env.local'];
    for (const rel of planted) {
      expect(fs.existsSync(`${s.p}/${rel}`)).toBe(false);
      expect(fs.existsSync(`${s.qdir}${s.p}/${rel}`)).toBe(true);
    }
    for (const rel of ['.git/HEAD', 'vendor/lib/.git', 'wt/.git', 'sm/.git', 'node_modules/x/.git/HEAD', 'a/b/c/.git/HEAD']) expect(fs.existsSync(`${s.p}/${rel}`)).toBe(true);
    expect(r.changes.map((c) => c.path.slice(s.p.length + 1)).sort()).toEqual([...planted].sort());
    expect(r.notes).toEqual([]);
  });

  it('record: a tree the policy could not search whole; what was there right before the run stays, what is new goes', () => {
    const s = scratch();
    gitRepo(s.p);
    tree(s.p, { 'old/.envrc': 'mine', 'a/b/.git': 'gitdir: /elsewhere\n' });
    const g: Guard = { ...scanOf(s.p, [`${s.p}/.git`]), record: true };
    const r = runAttack(s, [g], () => tree(s.p, { '.envrc': 'evil', 'x/y/.git': 'gitdir: /tmp/evil\n' }));
    for (const rel of ['old/.envrc', 'a/b/.git']) expect(fs.existsSync(`${s.p}/${rel}`)).toBe(true);
    expect(r.changes.map((c) => c.path.slice(s.p.length + 1)).sort()).toEqual(['.envrc', 'x/y/.git']);
  });

  it('walks ~200 directories within the limit and finds a planted name at the bottom', () => {
    const s = scratch();
    for (let i = 0; i < 20; i++) for (let j = 0; j < 10; j++) tree(s.p, { [`d${i}/e${j}/f.txt`]: 'x' });
    const r = runAttack(s, [scanOf(s.p)], () => tree(s.p, { 'd19/e9/.envrc': 'evil' }));
    expect(r.changes).toEqual([expect.objectContaining({ what: 'created', path: `${s.p}/d19/e9/.envrc`, action: 'removed' })]);
  });
});

describe('scan: bare repositories, and pins first', () => {
  it('takes a HEAD for a bare repository beside objects and refs (symlinks too: git follows them) or a commondir, and says why by name', () => {
    const s = scratch();
    gitRepo(s.p);
    const g: Guard = { mode: 'scan', path: s.p, depth: 3, names: ['.git', 'HEAD'], before: [`${s.p}/.git`], gitdirs: [], why: 'scan', reasons: { HEAD: 'a new bare git repository' } };
    const r = runAttack(s, [g], () => {
      tree(s.p, { 'bare/HEAD': 'ref: refs/heads/main\n', 'bare/objects/x': '', 'bare/refs/heads/x': '', 'notes/HEAD': 'just a file', 'o/objects/x': '', 'o/refs/x': '' });
      tree(s.p, { 'linked/HEAD': 'ref: refs/heads/main\n', 'common/HEAD': 'ref: refs/heads/main\n', 'common/commondir': '../o\n' });
      fs.symlinkSync('../o/objects', `${s.p}/linked/objects`);
      fs.symlinkSync('../o/refs', `${s.p}/linked/refs`);
    });
    for (const d of ['bare', 'linked', 'common']) expect(fs.existsSync(`${s.p}/${d}/HEAD`)).toBe(false);
    expect(fs.existsSync(`${s.p}/notes/HEAD`)).toBe(true);
    expect(r.changes.map((c) => c.path).sort()).toEqual(['bare', 'common', 'linked'].map((d) => `${s.p}/${d}/HEAD`));
    expect(r.changes.every((c) => c.why === 'a new bare git repository')).toBe(true);
  });

  it('brings a renamed .git back before a scan looks beside it', () => {
    const s = scratch();
    gitRepo(s.p);
    const st = fs.lstatSync(`${s.p}/.git`, { bigint: true });
    const guards: Guard[] = [
      { mode: 'scan', path: s.p, depth: 3, names: ['.git', 'HEAD'], before: [`${s.p}/.git`], gitdirs: [], why: 'scan' },
      { mode: 'pin', path: `${s.p}/.git`, kind: 'dir', why: 'git repository', dev: st.dev, ino: st.ino },
    ];
    runAttack(s, guards, () => {
      fs.renameSync(`${s.p}/.git`, `${s.p}/.git-away`);
      fs.mkdirSync(`${s.p}/.git`);
    });
    expect(fs.lstatSync(`${s.p}/.git`, { bigint: true }).ino).toBe(st.ino);
    expect(fs.existsSync(`${s.p}/.git/HEAD`)).toBe(true);
  });
});

describe('worktrees', () => {
  const wt = (p: string, before: string[] = []): Guard => ({ mode: 'worktrees', path: `${p}/.git/worktrees`, before, why: 'git worktrees' });

  it('keeps what git worktree add makes; quarantines entries with a config, hooks or another commondir', () => {
    const s = scratch();
    gitRepo(s.p);
    const w = `${s.p}/.git/worktrees`;
    tree(w, { 'old/commondir': '../..\n', 'old/config.worktree': 'before: not ours to judge' });
    const r = runAttack(s, [wt(s.p, ['old'])], () => {
      tree(w, {
        'good/commondir': '../..\n',
        'good/HEAD': 'ref: refs/heads/x\n',
        'good/gitdir': `${s.p}/good/.git\n`,
        'cfg/commondir': '../..\n',
        'cfg/config.worktree': '[core]\n\tfsmonitor = evil\n',
        'hooks/commondir': '../..\n',
        'hooks/hooks/pre-commit': 'evil',
        'other/commondir': '/tmp/evil\n',
        'nocommon/HEAD': 'x',
        'file': 'x',
      });
      fs.symlinkSync(s.outside, `${w}/link`);
    });
    expect(fs.readdirSync(w).sort()).toEqual(['good', 'old']);
    expect(r.changes.map((c) => c.path.slice(w.length + 1)).sort()).toEqual(['cfg', 'file', 'hooks', 'link', 'nocommon', 'other']);
    expect(fs.readFileSync(`${s.qdir}${w}/cfg/config.worktree`, 'utf8')).toContain('fsmonitor');
  });

  it('quarantines a worktrees directory replaced by a symlink', () => {
    const s = scratch();
    gitRepo(s.p);
    const w = `${s.p}/.git/worktrees`;
    fs.mkdirSync(w);
    runAttack(s, [wt(s.p)], () => {
      fs.renameSync(w, `${s.p}/.git/wt-old`);
      fs.symlinkSync(s.outside, w);
    });
    expect(fs.lstatSync(w).isDirectory()).toBe(true);
    expect(fs.readlinkSync(`${s.qdir}${w}`)).toBe(s.outside);
  });
});
