import { describe, expect, it } from 'vitest';
import { compileLandlock, splitForHidden } from '../../../src/landlock/compile.js';
import { compileView } from '../../../src/namespace/view.js';
import { compile } from '../../../src/plan.js';
import { FS } from '../../../src/landlock/abi.js';
import type { Guard, PathGrant, Policy } from '../../../src/policy/model.js';
import { nameMatcher } from '../../../src/policy/names.js';
import { coreValue, isEnvFile, withFullListings, withProtections } from '../../../src/policy/protect.js';
import { fakeHost, type Node } from '../fakehost.js';
import { policyOf } from '../policy-fixture.js';

const P = '/work/proj';
const flag = (path: string, access: 'ro' | 'rw'): PathGrant => ({ path, access, isDir: true, source: { kind: 'flag', flag: `--${access}`, given: path } });

const repo: Record<string, Node> = {
  [`${P}/package.json`]: '{}',
  [`${P}/.git/HEAD`]: 'ref: refs/heads/main\n',
  [`${P}/.git/config`]: '[core]\n\thooksPath = .githooks\n\tfsmonitor = false\n',
  [`${P}/.git/hooks/pre-commit.sample`]: '#!/bin/sh\n',
  [`${P}/.git/worktrees/wt/commondir`]: '../..\n',
  [`${P}/.git/modules/lib/HEAD`]: 'x',
  [`${P}/.git/modules/lib/config`]: '[core]\n',
  [`${P}/.githooks`]: { dir: true },
  [`${P}/.husky/pre-commit`]: 'npm test\n',
  [`${P}/.env`]: 'SECRET=1',
  [`${P}/.env.local`]: 'SECRET=2',
  [`${P}/.env.example`]: 'SECRET=',
  [`${P}/apps/web/.env`]: 'SECRET=3',
  [`${P}/apps/web/deep/er/.env`]: 'SECRET=4', // below the search depth
  [`${P}/node_modules/x/.env`]: 'SECRET=5', // node_modules is not searched
  [`${P}/src/index.ts`]: '',
  [`${P}/sub/.git`]: 'gitdir: ../.git/worktrees/wt\n',
};

const protect = (grants: PathGrant[], opts = {}, tree = repo) => withProtections(policyOf({ grants }), opts, fakeHost(tree), P);
const paths = (p: Policy, mode?: Guard['mode']) => p.guards.filter((g) => !mode || g.mode === mode).map((g) => g.path);

describe('the defaults found in a writable tree', () => {
  const p = protect([flag(P, 'rw')]);

  it('pins every .git, keeps its config and hooks, and the names that redirect them', () => {
    expect(paths(p, 'pin')).toEqual([`${P}/.git`]);
    expect(p.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/sub/.git`, kind: 'file' }));
    const keep = p.guards.filter((g) => g.mode === 'keep').map((g) => [g.path, g.mode === 'keep' && g.kind]);
    expect(keep).toEqual(expect.arrayContaining([
      [`${P}/.git/config`, 'file'],
      [`${P}/.git/hooks`, 'dir'],
      [`${P}/.git/commondir`, 'absent'],
      [`${P}/.git/config.worktree`, 'absent'],
      [`${P}/.githooks`, 'dir'], // core.hooksPath
      [`${P}/.git/modules/lib/config`, 'file'],
      [`${P}/.git/modules/lib/hooks`, 'absent'],
      [`${P}/.git/worktrees/wt/commondir`, 'file'],
      [`${P}/.husky`, 'dir'],
    ]));
    expect(paths(p, 'worktrees')).toEqual([`${P}/.git/worktrees`]);
  });

  it('keeps what core.hooksPath and core.fsmonitor name in the files the config includes, and in the user\'s own git config (relative: in each worktree)', () => {
    const tree: Record<string, Node> = {
      [`${P}/.git/HEAD`]: 'ref: refs/heads/main\n',
      [`${P}/.git/config`]: '[include]\n\tpath = ../.gitconfig\n',
      [`${P}/.gitconfig`]: '[core]\n\thooksPath = .githooks\n[includeIf "onbranch:main"]\n\tpath = tools/more.cfg\n',
      [`${P}/tools/more.cfg`]: '[core]\n\tfsmonitor = tools/fsmon.sh\n',
      [`${P}/sub/.git`]: 'gitdir: ../.git/worktrees/wt\n',
      [`${P}/.git/worktrees/wt/commondir`]: '../..\n',
      ['/home/u/.gitconfig']: '[core]\n\thooksPath = .hooks-everywhere\n',
    };
    const g = withProtections(policyOf({ grants: [flag(P, 'rw')] }), {}, fakeHost(tree), P, ['/home/u/.gitconfig']);
    expect(paths(g, 'keep')).toEqual(expect.arrayContaining([
      `${P}/.gitconfig`,
      `${P}/tools/more.cfg`,
      `${P}/.githooks`,
      `${P}/sub/.githooks`,
      `${P}/tools/fsmon.sh`,
      `${P}/.hooks-everywhere`,
      `${P}/sub/.hooks-everywhere`,
    ]));
  });

  it('scans each writable tree for new repositories and hook settings, knowing what was there', () => {
    const scan = p.guards.find((g) => g.mode === 'scan' && g.path === P);
    expect(scan).toMatchObject({ depth: 3, before: expect.arrayContaining([`${P}/.git`, `${P}/.husky`, `${P}/sub/.git`]) });
    expect(scan?.mode === 'scan' && scan.names).toEqual(expect.arrayContaining(['.git', '.husky', '.npmrc', '.envrc', '.vscode', '.claude', '.mcp.json']));
    expect(scan?.mode === 'scan' && scan.gitdirs).toContain(`${P}/.git/worktrees/*`);
  });

  it('hides .env files down to the search depth, not templates nor node_modules', () => {
    expect(p.hidden.map((h) => h.path).sort()).toEqual([`${P}/.env`, `${P}/.env.local`, `${P}/apps/web/.env`]);
  });

  it('guards nothing in a read-only tree, but still hides there', () => {
    const ro = protect([flag(P, 'ro')]);
    expect(ro.guards).toEqual([]);
    expect(ro.hidden).toHaveLength(3);
  });

  it('lists the directories on the way to each hidden path, for a split', () => {
    expect(p.listings.map((l) => l.dir)).toEqual([P, `${P}/apps`, `${P}/apps/web`]);
  });
});

// The namespace layer reads of the listings only the directories on the
// way down to a hidden path; the Landlock layer needs every entry beside it
// (a split grant). Prepared for the first, a listing is partial.
describe('listings, partial for the namespace layer', () => {
  const facts = (ns: boolean) => ({ landlockAbi: 7, seccomp: true, arch: 'x64', namespaces: ns ? { ok: true } : { ok: false, why: 'test' } });
  for (const access of ['ro', 'rw'] as const) {
    const policy = policyOf({ grants: [flag(P, access)] });
    const full = withProtections(policy, {}, fakeHost(repo), P);
    const part = withProtections(policy, {}, fakeHost(repo), P, undefined, true);

    it(`hold, in each directory on the way, only the entry on it (--${access} of the project)`, () => {
      expect(part.listings.map((l) => l.dir)).toEqual(full.listings.map((l) => l.dir));
      expect(part.listings.find((l) => l.dir === P)).toEqual({ dir: P, entries: [expect.objectContaining({ name: 'apps', isDir: true })], partial: true });
      expect(full.listings.find((l) => l.dir === P)!.entries.length).toBeGreaterThan(5);
      for (const l of part.listings) for (const e of l.entries) expect(full.listings.find((f) => f.dir === l.dir)!.entries).toContainEqual(e);
    });

    it(`give the namespace layer the very plan the full ones give (--${access})`, () => {
      expect(compile(part, facts(true))).toEqual(compile(full, facts(true)));
    });

    it(`are listed in full again for the Landlock layer (withFullListings), as they would have been (--${access})`, () => {
      expect(withFullListings(part, fakeHost(repo)).listings).toEqual(full.listings);
      expect(withFullListings(full, fakeHost(repo))).toBe(full);
    });
  }

  it('are refused by the Landlock layer, which would grant too little with them', () => {
    const part = withProtections(policyOf({ grants: [flag(P, 'ro')] }), {}, fakeHost(repo), P, undefined, true);
    expect(() => compile(part, facts(false))).toThrow(/jail has no full listing of \/work\/proj to hide/);
    const full = withFullListings(part, fakeHost(repo));
    expect(compile(full, facts(false)).landlock!.paths.map((r) => r.path)).toContain(`${P}/src`);
  });
});

describe('names of what runs later: globs, and names inside a directory of a given name', () => {
  it('keeps every mise config path, pnpm-workspace.yaml, workspaces and yarn releases as found, one level deeper inside a qualifying directory', () => {
    const tree: Record<string, Node> = {
      [`${P}/mise.staging.toml`]: '',
      [`${P}/.mise/config.toml`]: '',
      [`${P}/mise/config.local.toml`]: '',
      [`${P}/mise/tasks/build`]: '', // a file task: run only when asked, as package.json scripts
      [`${P}/.config/mise/conf.d/a.toml`]: '',
      [`${P}/.config/other.toml`]: '', // not mise's
      [`${P}/pnpm-workspace.yaml`]: '',
      [`${P}/app.code-workspace`]: '',
      [`${P}/.yarn/releases/yarn-4.cjs`]: '',
      [`${P}/.yarn/cache/x.zip`]: '', // not run
      [`${P}/a/b/.config/mise.toml`]: '', // level 4, inside .config at level 3
      [`${P}/a/b/c/mise.toml`]: '', // level 4: beyond the depth
      [`${P}/a/b/.husky/pre-commit`]: '', // .husky at level 3 (found), not its entries
    };
    const p = protect([flag(P, 'rw')], {}, tree);
    const kept = p.guards.filter((g) => g.mode === 'keep').map((g) => g.path);
    expect(kept).toEqual(expect.arrayContaining([
      `${P}/mise.staging.toml`, `${P}/.mise`, `${P}/mise/config.local.toml`, `${P}/.config/mise`, `${P}/pnpm-workspace.yaml`,
      `${P}/app.code-workspace`, `${P}/.yarn/releases`, `${P}/a/b/.config/mise.toml`, `${P}/a/b/.husky`,
    ]));
    for (const not of [`${P}/mise`, `${P}/mise/tasks`, `${P}/.config`, `${P}/.config/other.toml`, `${P}/.yarn`, `${P}/.yarn/cache`, `${P}/a/b/c/mise.toml`]) expect(kept).not.toContain(not);
    const scan = p.guards.find((g) => g.mode === 'scan' && g.path === P);
    expect(scan && scan.mode === 'scan' && scan.names).toEqual(expect.arrayContaining(['.config/mise.toml', 'mise.*.toml', '*.code-workspace', '.yarn/releases']));
  });

  it('matches as the search and the scan do', () => {
    const m = nameMatcher(['.husky', 'mise.*.toml', '.config/mise.toml', '.config/mise.*.toml', '.yarn/releases']);
    expect(m.match('.husky', 'x')).toBe('.husky');
    expect(m.match('mise.dev.local.toml', 'x')).toBe('mise.*.toml');
    expect(m.match('mise.toml', 'x')).toBeUndefined();
    expect(m.match('mise.toml', '.config')).toBe('.config/mise.toml');
    expect(m.match('mise.dev.toml', '.config')).toBe('mise.*.toml');
    expect(m.match('releases', 'x')).toBeUndefined();
    expect(m.match('releases', '.yarn')).toBe('.yarn/releases');
    // Inside (one level below the depth): qualified names alone.
    expect(m.match('.husky', '.config', true)).toBeUndefined();
    expect(m.match('mise.dev.toml', '.config', true)).toBe('.config/mise.*.toml');
    expect([...m.parents].sort()).toEqual(['.config', '.yarn']);
  });
});

describe('lifting and adding', () => {
  it('--unprotect lifts a path and what is inside it; a new name it names may appear', () => {
    const p = protect([flag(P, 'rw')], { unprotect: [`${P}/.git`, `${P}/.claude`] });
    expect(paths(p).filter((x) => x === `${P}/.git` || x.startsWith(`${P}/.git/`))).toEqual([]);
    const scan = p.guards.find((g) => g.mode === 'scan' && g.path === P);
    expect(scan?.mode === 'scan' && scan.before).toContain(`${P}/.claude`);
  });

  it('--rw naming a protected path exactly lifts that one', () => {
    const p = protect([flag(P, 'rw'), flag(`${P}/.husky`, 'rw')]);
    expect(paths(p)).not.toContain(`${P}/.husky`);
    expect(paths(p)).toContain(`${P}/.git/hooks`);
  });

  it('--protect keeps a path that does not exist yet, and only inside a writable tree', () => {
    const p = protect([flag(P, 'rw'), flag('/srv', 'ro')], { protect: [`${P}/deploy.sh`, '/srv/x'] });
    expect(p.guards).toContainEqual({ mode: 'keep', path: `${P}/deploy.sh`, kind: 'absent', why: '--protect' });
    expect(paths(p)).not.toContain('/srv/x');
  });

  it('keeps what a protected symlink leads to as well', () => {
    const tree = { ...repo, [`${P}/.git/hooks`]: { link: '../tools/hooks' }, [`${P}/tools/hooks/pre-commit`]: 'x' };
    delete (tree as Record<string, unknown>)[`${P}/.git/hooks/pre-commit.sample`];
    const p = protect([flag(P, 'rw')], {}, tree);
    expect(p.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/.git/hooks`, kind: 'symlink' }));
    expect(p.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/tools/hooks`, kind: 'dir' }));
  });

  it('--ro inside --rw becomes a guard', () => {
    const p = protect([flag(P, 'rw'), flag(`${P}/src`, 'ro')]);
    expect(p.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/src`, kind: 'dir' }));
  });

  it('--unhide and a grant of the file itself show it; --hide adds one', () => {
    const p = protect([flag(P, 'ro'), { ...flag(`${P}/.env.local`, 'ro'), isDir: false }], { unhide: [`${P}/apps`], hide: [`${P}/src/index.ts`] });
    expect(p.hidden.map((h) => h.path).sort()).toEqual([`${P}/.env`, `${P}/src/index.ts`]);
  });

  it('--protect or --hide naming exactly what the same command line grants: refused, not silently dropped', () => {
    expect(() => protect([flag(P, 'ro'), flag(`${P}/src`, 'rw')], { protect: [`${P}/src`] })).toThrow(/--protect .*\/src names exactly what --rw .*\/src grants/);
    expect(() => protect([flag(P, 'ro'), { ...flag(`${P}/.env.local`, 'ro'), isDir: false }], { hide: [`${P}/.env.local`] })).toThrow(/--hide .*\.env\.local names exactly what --ro .*\.env\.local grants/);
    expect(() => protect([flag(P, 'ro')], { hide: [P] })).toThrow(/--hide \/work\/proj names exactly what --ro \/work\/proj grants/);
    // A profile's hide or protect, lifted by a flag's exact grant, as documented.
    const fromProfile = { path: `${P}/.env.local`, from: 'profile x, /home/u/.config/jail/config.json' };
    const p = protect([flag(P, 'ro'), { ...flag(`${P}/.env.local`, 'ro'), isDir: false }], { hide: [fromProfile] });
    expect(p.hidden.map((h) => h.path)).not.toContain(`${P}/.env.local`);
  });

  it('a writable tree the walk from above does not reach is searched from its own top: what is there is kept, and not new to the scan', () => {
    const tree = { ...repo, [`${P}/a/b/c/.vscode/settings.json`]: '{}' };
    const deep = protect([flag(P, 'ro'), flag(`${P}/a/b/c`, 'rw')], {}, tree);
    expect(deep.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/a/b/c/.vscode` }));
    const scan = deep.guards.find((g) => g.mode === 'scan' && g.path === `${P}/a/b/c`);
    expect(scan?.mode === 'scan' && scan.before).toContain(`${P}/a/b/c/.vscode`);
    // A .git granted read-write under a read-only project: its HEAD is not a new bare repository.
    const git = protect([flag(P, 'ro'), flag(`${P}/.git`, 'rw')]).guards.find((g) => g.mode === 'scan' && g.path === `${P}/.git`);
    expect(git?.mode === 'scan' && git.before).toContain(`${P}/.git/HEAD`);
  });

  it('a built-in grant outside the project (the npm cache) is not searched', () => {
    const cache = { path: '/home/u/.npm', access: 'rw' as const, isDir: true, source: { kind: 'config' as const, flag: '--rw', given: '{npmCache}', where: 'built-in profile node' } };
    const p = protect([cache], {}, { ...repo, '/home/u/.npm/.git/config': '' });
    expect(p.guards).toEqual([]);
  });
});

describe('small readers', () => {
  it.each([
    ['.env', true],
    ['.env.local', true],
    ['.env.production.local', true],
    ['.env.example', false],
    ['.env.sample', false],
    ['.env.template', false],
    ['.envrc', false],
    ['env', false],
  ])('isEnvFile(%s) is %s', (name, hidden) => expect(isEnvFile(name)).toBe(hidden));

  it('reads core values the way git does: last one wins, other sections ignored, quotes and comments dropped', () => {
    const text = '[core]\n\thooksPath = a\n[remote "o"]\n\thooksPath = b\n[Core]\n\tHOOKSPATH = "c d" ; comment\n';
    expect(coreValue(text, 'hookspath')).toBe('c d');
    expect(coreValue('[user]\n\tname = x\n', 'hookspath')).toBeNull();
  });

  it('keeps the files a repository config includes', () => {
    const tree = { ...repo, [`${P}/.git/config`]: '[include]\n\tpath = ../tools/gitconfig\n[includeIf "gitdir:~/x/"]\n\tpath = /work/proj/cfg/extra\n', [`${P}/tools/gitconfig`]: '[core]\n' };
    const p = protect([flag(P, 'rw')], {}, tree);
    expect(p.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/tools/gitconfig`, kind: 'file', why: 'git config (include.path)' }));
    expect(p.guards).toContainEqual(expect.objectContaining({ mode: 'keep', path: `${P}/cfg/extra`, kind: 'absent' }));
  });
});

describe('the fallback: read-only grants split around hidden paths', () => {
  const policy = (grants: PathGrant[]) => protect(grants);

  it('lists the directories on the way, grants every other entry, and nothing at the hidden paths', () => {
    const p = policy([flag(P, 'ro')]);
    const { plan } = compileLandlock(p, 7);
    const dropped = splitForHidden(plan!, p, false);
    expect(dropped).toEqual([]);
    const at = (x: string) => plan!.paths.find((r) => r.path === x);
    expect(at(P)!.access).toBe(FS.READ_DIR);
    expect(at(`${P}/apps`)!.access).toBe(FS.READ_DIR);
    expect(at(`${P}/apps/web`)!.access).toBe(FS.READ_DIR);
    expect(at(`${P}/src`)!.access & FS.READ_FILE).toBe(FS.READ_FILE);
    expect(at(`${P}/.env.example`)!.access & FS.READ_FILE).toBe(FS.READ_FILE);
    expect(at(`${P}/apps/web/deep`)).toBeDefined();
    for (const h of [`${P}/.env`, `${P}/.env.local`, `${P}/apps/web/.env`]) expect(at(h)).toBeUndefined();
    // The grant itself must be there when the rules are made; the entries
    // the split added (another run's TMPDIR beside a hidden socket, say)
    // are left out if they have gone by then (native/jail.c).
    expect(at(P)!.optional).toBeUndefined();
    for (const x of [`${P}/apps`, `${P}/apps/web`, `${P}/src`, `${P}/.env.example`, `${P}/apps/web/deep`]) expect(at(x)!.optional, x).toBe(true);
  });

  it('refuses a hidden path in a writable tree, naming the way out; best effort says what it left', () => {
    const p = policy([flag(P, 'rw')]);
    const { plan } = compileLandlock(p, 7);
    expect(() => splitForHidden(plan!, p, false)).toThrow(/cannot be hidden inside \/work\/proj, which is writable/);
    const { plan: again } = compileLandlock(p, 7);
    expect(splitForHidden(again!, p, true)[0]).toMatch(/^hiding \/work\/proj\/\.env:/);
  });

  it('compile() splits only in the fallback', () => {
    const p = policy([flag(P, 'ro')]);
    const facts = { landlockAbi: 7, seccomp: false, arch: 'x64' };
    const fb = compile(p, { ...facts, namespaces: { ok: false, why: 'off' } }, { bestEffort: true });
    expect(fb.landlock!.paths.find((r) => r.path === P)!.access).toBe(FS.READ_DIR);
    const ns = compile(p, { ...facts, namespaces: { ok: true } }, { bestEffort: true });
    expect(ns.landlock!.paths.find((r) => r.path === P)!.access & FS.READ_FILE).toBe(FS.READ_FILE);
  });
});

describe('the namespace layer: mounts for guards and hidden paths', () => {
  const p = protect([flag(P, 'rw')]);
  const facts = { landlockAbi: 7, seccomp: false, arch: 'x64', namespaces: { ok: true } };
  const plan = compile(p, facts, { bestEffort: true });
  const entries = plan.view!.entries;
  const at = (x: string) => entries.filter((e) => e.path === x);

  it('binds what exists read-only, pins .git on itself, and empties hidden paths', () => {
    expect(at(`${P}/.git`)).toEqual([expect.objectContaining({ kind: 'bind', readOnly: false, pin: true })]);
    expect(at(`${P}/.git/hooks`)).toEqual([expect.objectContaining({ kind: 'bind', readOnly: true })]);
    expect(at(`${P}/.git/config`)).toEqual([expect.objectContaining({ kind: 'bind', readOnly: true })]);
    expect(at(`${P}/.husky`)).toEqual([expect.objectContaining({ kind: 'bind', readOnly: true })]);
    expect(at(`${P}/.env`)).toEqual([{ kind: 'empty', path: `${P}/.env`, isDir: false, access: 0n }]);
  });

  it('mounts parents first', () => {
    const i = (x: string) => entries.findIndex((e) => e.path === x);
    expect(i(P)).toBeLessThan(i(`${P}/.git`));
    expect(i(`${P}/.git`)).toBeLessThan(i(`${P}/.git/hooks`));
  });

  it('leaves to after the run only what no mount enforces', () => {
    const modes = plan.afterRun.map((g) => (g.mode === 'keep' ? `keep:${g.kind}` : g.mode));
    expect(new Set(modes)).toEqual(new Set(['keep:absent', 'scan', 'worktrees']));
    const fallback = compile(protect([flag(P, 'rw')], { unhide: [P] }), { ...facts, namespaces: { ok: false } }, { bestEffort: true });
    expect(fallback.afterRun).toHaveLength(p.guards.length);
  });

  it('keeps --ro inside --rw as a read-only bind (no longer dropped as covered)', () => {
    const q = protect([flag(P, 'rw'), flag(`${P}/.git`, 'ro')]);
    const v = compile(q, facts, { bestEffort: true }).view!;
    expect(v.entries.filter((e) => e.path === `${P}/.git`)).toEqual([expect.objectContaining({ kind: 'bind', readOnly: true })]);
  });

  it('guards nothing a grant does not show', () => {
    const q = policyOf({ grants: [flag('/srv', 'rw')], guards: [{ mode: 'keep', path: '/elsewhere/x', kind: 'file', why: 't' }], hidden: [{ path: '/elsewhere/.env', isDir: false, why: 't' }] });
    const v = compileView(q, [{ path: '/srv', access: 0n, writable: true, isDir: true }], { dev: 0n, readFile: 0n, readWrite: 0n });
    expect(v.entries.map((e) => e.path)).not.toContain('/elsewhere/x');
    expect(v.entries.map((e) => e.path)).not.toContain('/elsewhere/.env');
  });
});
