/**
 * pin guards (`.git` itself) and ancestors replaced under a guarded path:
 * what took the original's place goes to the quarantine, the original comes
 * back from where it was renamed, and guards below are checked after.
 */
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Guard } from '../../../src/policy/model.js';
import { gitRepo, keep, listing, runAttack, scratch, tree } from './helpers.js';

const pin = (p: string): Guard => ({ mode: 'pin', path: p, kind: 'dir', why: 'git repository' });

describe('pin', () => {
  it('renames the original .git back and quarantines the fake one made in its place', () => {
    const s = scratch();
    gitRepo(s.p);
    const git = `${s.p}/.git`;
    const before = listing(git);
    const ino = fs.statSync(git).ino;
    const r = runAttack(s, [keep(`${git}/hooks`, 'dir', 'git hooks'), pin(git)], () => {
      fs.renameSync(git, `${s.p}/.git-old`);
      tree(s.p, { '.git/HEAD': 'ref: refs/heads/main\n', '.git/hooks/pre-commit': 'evil' });
    });
    expect(fs.statSync(git).ino).toBe(ino);
    expect(listing(git)).toEqual(before);
    expect(fs.existsSync(`${s.p}/.git-old`)).toBe(false);
    expect(fs.readFileSync(`${s.qdir}${git}/hooks/pre-commit`, 'utf8')).toBe('evil');
    expect(r.changes).toEqual([expect.objectContaining({ what: 'replaced', path: git, action: 'reverted', note: 'the original was renamed to .git-old; renamed back' })]);
  });

  it('undoes .git replaced by a symlink to a planted repository', () => {
    const s = scratch();
    gitRepo(s.p);
    tree(s.outside, { 'repo/HEAD': 'x', 'repo/hooks/pre-commit': 'evil' });
    const git = `${s.p}/.git`;
    const before = listing(git);
    const outside = listing(s.outside);
    runAttack(s, [pin(git)], () => {
      fs.renameSync(git, `${s.p}/.hidden`);
      fs.symlinkSync(`${s.outside}/repo`, git);
    });
    expect(fs.lstatSync(git).isDirectory()).toBe(true);
    expect(listing(git)).toEqual(before);
    expect(listing(s.outside)).toEqual(outside);
  });

  it('says so when the original is gone (moved out of its directory)', () => {
    const s = scratch();
    gitRepo(s.p);
    const git = `${s.p}/.git`;
    fs.mkdirSync(`${s.p}/sub`);
    const r = runAttack(s, [pin(git), keep(`${git}/config`, 'file'), keep(`${git}/hooks`, 'dir')], () => fs.renameSync(git, `${s.p}/sub/.git`));
    expect(r.changes).toEqual([expect.objectContaining({ what: 'removed', path: git, action: 'could-not-restore', note: 'the original was removed' })]);
    expect(fs.existsSync(git)).toBe(false); // no half-made .git in its place
  });

  it('leaves an unchanged .git alone (content inside may change)', () => {
    const s = scratch();
    gitRepo(s.p);
    const r = runAttack(s, [pin(`${s.p}/.git`)], () => fs.writeFileSync(`${s.p}/.git/index`, 'new index'));
    expect(r.changes).toEqual([]);
    expect(fs.readFileSync(`${s.p}/.git/index`, 'utf8')).toBe('new index');
  });
});

describe('ancestors', () => {
  it('a symlinked ancestor of a kept directory: moved aside, the original renamed back, nothing followed', () => {
    const s = scratch();
    gitRepo(s.p);
    tree(s.outside, { 'fake/hooks/pre-commit': 'evil', 'fake/config': '[core]\n\tfsmonitor = evil\n' });
    const git = `${s.p}/.git`;
    const before = listing(git);
    const outside = listing(s.outside);
    const r = runAttack(s, [keep(`${git}/hooks`, 'dir', 'git hooks'), keep(`${git}/config`, 'file', 'git config')], () => {
      fs.renameSync(git, `${s.p}/.git2`);
      fs.symlinkSync(`${s.outside}/fake`, git);
    });
    expect(fs.lstatSync(git).isDirectory()).toBe(true);
    expect(listing(git)).toEqual(before);
    expect(listing(s.outside)).toEqual(outside);
    expect(fs.readlinkSync(`${s.qdir}${git}`)).toBe(`${s.outside}/fake`);
    expect(r.changes[0]).toMatchObject({ what: 'replaced', path: git, action: 'reverted' });
  });

  it('a symlinked ancestor with no original to find: moved aside; the keep below cannot be restored', () => {
    const s = scratch();
    tree(s.p, { 'tools/.npmrc': 'registry=x\n' });
    tree(s.outside, { 'evil/.npmrc': 'script-shell=/evil\n' });
    const outside = listing(s.outside);
    const r = runAttack(s, [keep(`${s.p}/tools/.npmrc`, 'file', 'npm config')], () => {
      fs.rmSync(`${s.p}/tools`, { recursive: true });
      fs.symlinkSync(`${s.outside}/evil`, `${s.p}/tools`);
    });
    expect(fs.existsSync(`${s.p}/tools`)).toBe(false);
    expect(listing(s.outside)).toEqual(outside);
    expect(r.changes).toEqual([expect.objectContaining({ what: 'replaced', path: `${s.p}/tools`, action: 'could-not-restore' })]);
  });
});
