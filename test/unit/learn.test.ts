/** jail learn on a fake host: the broad policy's $HOME grants, how paths
 *  generalise, the profile made from what a command touched, and where a
 *  profile may be saved. */
import { describe, expect, it } from 'vitest';
import type { ObservedAccess } from '../../src/explain.js';
import { anchor, homeWithoutSecrets, learnFrom, LEARN_SOURCE, notForProject, profileJson } from '../../src/learn.js';
import { compile } from '../../src/plan.js';
import { assemble } from '../../src/policy/assemble.js';
import type { JailOptions } from '../../src/policy/options.js';
import { fakeHost, type Node } from './fakehost.js';

const H = '/home/u';
const P = `${H}/code/proj`;
const tree: Record<string, Node> = {
  '/usr/bin/true': { file: '\x7fELF', x: true },
  '/usr/bin/node': { file: '\x7fELF', x: true },
  [`${P}/package.json`]: '{}',
  [`${P}/src/a.js`]: 'x',
  [`${H}/code/lib/index.js`]: 'x',
  [`${H}/.ssh/id_ed25519`]: 'KEY',
  [`${H}/.npmrc`]: 'token',
  [`${H}/.env`]: 'X=1',
  [`${H}/.config/tool/settings.json`]: '{}',
  [`${H}/.config/gh/hosts.yml`]: 'token',
  [`${H}/.cache/node-gyp/20.1.0/include/node/node.h`]: 'x',
  [`${H}/.cache/node-gyp/20.1.0/include/node/v8.h`]: 'x',
  [`${H}/.cargo/bin/cargo`]: { file: 'x', x: true },
  [`${H}/.cargo/credentials.toml`]: 'token',
  [`${H}/.npm/_cacache/index`]: 'x',
  [`${H}/.toolrc`]: 'x',
  [`${H}/keys`]: { link: '.ssh' },
  [`${H}/notes`]: { link: '/etc' },
  '/etc/hosts': 'x',
};
const host = fakeHost(tree, { path: '/usr/bin', cwd: P, home: H });

describe('the broad policy: $HOME without its credentials', () => {
  const { grants, leftOut } = homeWithoutSecrets(host, [`${H}/.npm`]);
  it('grants what $HOME holds, one level down where a credential lies', () => {
    expect(grants).toEqual(expect.arrayContaining([`${H}/code`, `${H}/.toolrc`, `${H}/.config/tool`, `${H}/.cache`, `${H}/.cargo/bin`]));
  });
  it('never $HOME, a credential, a .env file, npm\'s cache, or a link out of $HOME or to a key', () => {
    for (const g of grants) {
      expect(g.startsWith(`${H}/`)).toBe(true);
      for (const bad of ['/.ssh', '/.npmrc', '/.env', '/.config/gh', '/.cargo/credentials.toml', '/.npm', '/keys', '/notes']) expect(g).not.toBe(H + bad);
    }
    expect(grants).not.toContain(`${H}/.config`);
    expect(grants).not.toContain(`${H}/.cargo`);
    expect(leftOut).toEqual(expect.arrayContaining([`${H}/.ssh`, `${H}/.npmrc`, `${H}/.env`, `${H}/.config/gh`, `${H}/keys`, `${H}/notes`]));
  });
});

describe('generalising a path under $HOME', () => {
  const a = (p: string) => anchor(p, H, P, `${H}/.npm`);
  it.each([
    [`${H}/.config/tool/settings.json`, `${H}/.config/tool`],
    [`${H}/.cache/node-gyp/20.1.0/include/node/node.h`, `${H}/.cache/node-gyp`],
    [`${H}/.toolrc`, `${H}/.toolrc`],
    [`${H}/code/lib/index.js`, `${H}/code/lib`],
    // ~/.cargo holds credentials.toml: only its bin.
    [`${H}/.cargo/bin/cargo`, `${H}/.cargo/bin`],
  ])('%s → %s', (p, want) => expect(a(p)).toBe(want));
  it('never $HOME, a credential, or a directory holding the project or the cache', () => {
    expect(a(H)).toBeNull();
    expect(a(`${H}/.ssh/id_ed25519`)).toBeNull();
    expect(a('/etc/passwd')).toBeNull();
    expect(a(`${H}/code/package.json`)).toBe(`${H}/code/package.json`);
  });
});

function learnt(calls: Array<[ObservedAccess, string]>) {
  const { grants } = homeWithoutSecrets(host, [`${H}/.npm`]);
  const options: JailOptions = { rw: [P], ro: grants.map((path) => ({ path, from: LEARN_SOURCE })), npmCache: true, reportDenials: true };
  const a = assemble({ options, argv: ['true'], env: { PATH: '/usr/bin', HOME: H }, nodeExecPath: '/usr/bin/node', projectRoot: P }, host);
  const plan = compile(a.policy, { landlockAbi: 7, seccomp: true, arch: 'x64', namespaces: { ok: false, why: 'test' } });
  return learnFrom({ host, plan, policy: a.policy, calls: calls.map(([access, path]) => ({ access, path })), projectRoot: P, npmCache: `${H}/.npm`, tmpDir: a.tmpDir });
}

describe('the profile from what the command touched', () => {
  it('reads under $HOME become one directory each; a write in the project makes it rw', () => {
    const l = learnt([
      ['read', `${H}/.config/tool/settings.json`],
      ['read', `${H}/.cache/node-gyp/20.1.0/include/node/node.h`],
      ['read', `${H}/.cache/node-gyp/20.1.0/include/node/v8.h`],
      ['read', `${H}/.config/tool/missing.json`], // a probe: not there
      ['read', `${P}/src/a.js`],
      ['create', `${P}/dist`],
      ['read', `${H}/.npm/_cacache/index`],
      ['read', '/usr/bin/node'],
    ]);
    expect(l.home).toEqual([`${H}/.cache/node-gyp`, `${H}/.config/tool`]);
    expect(l.project).toBe('rw');
    expect(l.npmCache).toBe(true);
    const json = profileJson(l, { home: H, projectRoot: P, argv: ['tool'], given: {} }, 'user');
    expect(json).toMatchObject({ ro: ['~/.cache/node-gyp', '~/.config/tool'], rw: ['~/code/proj'], npmCache: true });
    expect(notForProject(json)).toEqual(['"ro": ~/.cache/node-gyp is outside the project', '"ro": ~/.config/tool is outside the project', '"rw": ~/code/proj is outside the project']);
    // In the project's own form, only the $HOME paths keep it out.
    expect(notForProject(profileJson(l, { home: H, projectRoot: P, argv: ['tool'], given: {} }, 'project'))).toHaveLength(2);
  });
  it('a credential is never learnt; a write outside the project is a suggestion', () => {
    const l = learnt([
      ['read', `${H}/.ssh/id_ed25519`],
      ['read', `${H}/.env`],
      ['read', `${P}/package.json`],
      ['create', `${H}/.cache/tool/log.txt`],
    ]);
    expect(l.home).toEqual([]);
    expect(l.secrets).toEqual([`${H}/.env`, `${H}/.ssh/id_ed25519`]);
    expect(l.project).toBe('ro');
    expect(l.suggestions.map((s) => s.flag)).toEqual(['--rw ~/.cache/tool']);
    const json = profileJson(l, { home: H, projectRoot: P, argv: ['tool'], given: {} }, 'project');
    expect(json).toEqual({ description: 'learnt by jail learn from: tool', ro: ['.'] });
    expect(notForProject(json)).toEqual([]);
  });
  it('never suggests a grant on $HOME, above it or on a directory holding a credential; a path with spaces is one shell word', () => {
    const l = learnt([
      ['create', `${H}/x`],
      ['create', `${H}/.config/newtool`],
      ['create', `${H}/.ssh/planted`],
      ['create', `${H}/a --rw ~/b`],
      ['create', '/home/v'],
      ['create', '/toplevel'],
    ]);
    const flags = l.suggestions.map((s) => s.flag);
    expect(flags).toEqual([`--rw ~/'a --rw ~'`]);
    for (const f of flags) expect(f).not.toMatch(/--rw (~|\/home\/u|\/home|\/|~\/\.config)( |$)/);
  });
  it('what a project config may not hold keeps the profile out of it', () => {
    expect(notForProject({ rw: ['.'], npmCache: true })).toEqual([]);
    expect(notForProject({ toolchains: true })).toEqual(['"toolchains": true widens the policy']);
    expect(notForProject({ allowHost: ['registry.npmjs.org'] })).toEqual(['"allowHost" is yours to set, not a project\'s']);
    expect(notForProject({ ro: ['/opt/sdk'] })).toEqual(['"ro": /opt/sdk is outside the project']);
  });
});
