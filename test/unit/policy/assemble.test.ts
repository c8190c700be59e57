/** assemble(): the whole run decided before anything is written. */
import { describe, expect, it } from 'vitest';
import { dependencyRoot } from '../../../src/cli/script-shell.js';
import { PolicyError } from '../../../src/errors.js';
import { assemble, configContext, type JailRequest } from '../../../src/policy/assemble.js';
import { loadConfig } from '../../../src/policy/config.js';
import type { Host } from '../../../src/policy/host.js';
import { npmCacheOf, userNpmrcPath } from '../../../src/tmpdir/copies.js';
import { EXE, fakeHost, SMALL_MACHINE, type Node } from '../fakehost.js';

const x = EXE;
const tree: Record<string, Node> = {
  ...SMALL_MACHINE,
  '/home/u/.npmrc': 'cafile=~/certs/ca.pem\n//registry.npmjs.org/:_authToken=SECRET\n',
  '/home/u/certs/ca.pem': 'CERT',
  '/home/u/.gitconfig': '[user]\n\tname = U\n[credential]\n\thelper = store\n',
  '/opt/jail/dist/cli.js': 'x',
  '/etc/passwd': 'x',
};
const req = (over: Partial<JailRequest> = {}): JailRequest => ({ options: { ro: ['.'] }, argv: ['true'], env: { PATH: '/usr/bin', HOME: '/home/u' }, nodeExecPath: '/usr/bin/node', ...over });
const host = (over: Partial<Host> = {}, extra: Record<string, Node> = {}) => fakeHost({ ...tree, ...extra }, { path: '/usr/bin', ...over });

describe('assemble()', () => {
  it('decides the private TMPDIR and its files, and grants what the config copies name (what --print-policy shows is what runs)', () => {
    const a = assemble(req(), host());
    expect(a.tmpDir).toBe('/tmp/jail-1-000000000000');
    expect(a.env.TMPDIR).toBe(a.tmpDir);
    expect(a.env.NPM_CONFIG_USERCONFIG).toBe('/tmp/jail-1-000000000000/npmrc');
    expect(a.files.map((f) => f.name)).toEqual(['npmrc', 'gitconfig']);
    expect(a.files.map((f) => f.text).join('')).not.toContain('SECRET');
    expect(a.policy.grants.find((g) => g.path === '/home/u/certs/ca.pem')?.source).toEqual({ kind: 'jail', what: 'named by cafile in your config' });
    expect(a.policy.grants.find((g) => g.path === a.tmpDir)?.access).toBe('rw');
  });
  it('without a private TMPDIR, writes nothing and has no supervisor files', () => {
    const a = assemble(req({ options: { ro: ['.'], privateTmp: false } }), host());
    expect([a.tmpDir, a.files]).toEqual([null, []]);
  });
  it('refuses a read-write grant that holds jail itself (issue 8 B6); read-only is fine', () => {
    expect(() => assemble(req({ options: { rw: ['/opt'] } }), host())).toThrowError(/\/opt\/jail is part of jail itself/);
    expect(() => assemble(req({ options: { rw: ['/usr'] } }), host())).toThrowError(/\/usr\/bin\/node is part of jail itself/);
    expect(() => assemble(req({ options: { ro: ['/opt'] } }), host())).not.toThrow();
  });
  it('refuses a read-write grant inside jail\'s code (its bundle, its plan store), not elsewhere in its package', () => {
    const h = host({ self: ['/opt/jail', '/usr/bin/node', '/opt/jail/bin', '/opt/jail/dist', '/opt/jail/dist/plans'] }, { '/opt/jail/dist/plans/0/x': 'x', '/opt/jail/src/a.ts': 'x' });
    expect(() => assemble(req({ options: { rw: ['/opt/jail/dist/cli.js'] } }), h)).toThrowError(/\/opt\/jail\/dist is part of jail itself/);
    expect(() => assemble(req({ options: { rw: ['/opt/jail/dist/plans/0'] } }), h)).toThrowError(/part of jail itself/);
    expect(() => assemble(req({ options: { rw: ['/opt/jail/src'] } }), h)).not.toThrow();
  });
  it('hides the stored plans from a jail whose grants would show them, and only then', () => {
    const h = host({ planStore: '/opt/jail/dist/plans' }, { '/opt/jail/dist/plans/0/x': 'x' });
    const shown = assemble(req({ options: { ro: ['/'] } }), h);
    expect(shown.policy.hidden.map((x) => [x.path, x.why])).toContainEqual(['/opt/jail/dist/plans', "jail's stored plans"]);
    expect(assemble(req({ options: { ro: ['.'] } }), h).policy.hidden.some((x) => x.path === '/opt/jail/dist/plans')).toBe(false);
  });
  it('the CLI falls back to the default profile; the API (no implicit profile) to nothing', () => {
    const cli = assemble(req({ options: {}, implicitProfile: 'default' }), host());
    expect(cli.profileChain.map((c) => c.split(' ')[0])).toEqual(['read-only', 'node', 'default']);
    const api = assemble(req({ options: {} }), host());
    expect(api.profileChain).toEqual([]);
    expect(api.policy.grants.some((g) => g.path === '/work/proj')).toBe(false);
  });
  it('the reserved profile none loads no config file at all (a broken one does not matter)', () => {
    const a = assemble(req({ options: { profile: 'none' } }), host({}, { '/work/proj/jail.config.json': '{ broken' }));
    expect(a.policy.grants.some((g) => g.path === '/work/proj')).toBe(false);
    expect(() => assemble(req({ options: { profile: 'default' } }), host({}, { '/work/proj/jail.config.json': '{ broken' }))).toThrowError(PolicyError);
  });
  it('no config may redefine none', () => {
    const h = host({}, { '/work/proj/jail.config.json': JSON.stringify({ profiles: { none: { ro: ['.'] } } }) });
    expect(() => loadConfig(configContext(h, { env: {}, nodeExecPath: '/usr/bin/node' }))).toThrowError(/profile name "none" is reserved/);
  });
});

describe('facts about the user’s tools', () => {
  it('a node under ~/.local/bin has no prefix of its own: only the binary (issue 8 D2)', () => {
    const h = host({}, { '/home/u/.local/bin/node': x, '/home/u/.local/lib/x': 'x', '/home/u/.local/share/keyrings/k': 'KEY' });
    expect(configContext(h, { env: {}, nodeExecPath: '/home/u/.local/bin/node' }).nodePrefix).toBe('/home/u/.local/bin/node');
    const nvm = host({}, { '/home/u/.nvm/versions/node/v20/bin/node': x, '/home/u/.nvm/versions/node/v20/lib/x': 'x' });
    expect(configContext(nvm, { env: {}, nodeExecPath: '/home/u/.nvm/versions/node/v20/bin/node' }).nodePrefix).toBe('/home/u/.nvm/versions/node/v20');
  });
  it('npm’s cache and config are yours, never npm_config_* that a project .npmrc sets (issue 8 B5)', () => {
    const h = host({}, { '/home/u/.npmrc': 'cache = "/home/u/.cache/npm"\n' });
    const underNpm = { npm_config_cache: '/home/u/.ssh', npm_config_userconfig: '/home/u/.ssh/id_rsa' };
    expect(npmCacheOf(h, underNpm)).toBe('/home/u/.cache/npm');
    expect(userNpmrcPath(h, underNpm)).toBe('/home/u/.npmrc');
    expect(npmCacheOf(host(), underNpm)).toBe('/home/u/.npm');
    expect(npmCacheOf(host(), { NPM_CONFIG_CACHE: '~/.npm-other' })).toBe('/home/u/.npm-other');
    expect(userNpmrcPath(h, { NPM_CONFIG_USERCONFIG: '/etc/npmrc-u' })).toBe('/etc/npmrc-u');
  });
  it('a dependency’s project is its package directory, by path (issue 8 B2)', () => {
    expect(dependencyRoot('/p/node_modules/evil')).toBe('/p/node_modules/evil');
    expect(dependencyRoot('/p/node_modules/evil/lib')).toBe('/p/node_modules/evil');
    expect(dependencyRoot('/p/node_modules/@s/native/build')).toBe('/p/node_modules/@s/native');
    expect(dependencyRoot('/p/node_modules/a/node_modules/b')).toBe('/p/node_modules/a/node_modules/b');
    expect(dependencyRoot('/p')).toBeNull();
    expect(dependencyRoot('/p/node_modules')).toBeNull();
  });
});

describe('jail inside the jail', () => {
  const grantsUnder = (a: ReturnType<typeof assemble>, dir: string) => a.policy.grants.filter((g) => g.path.startsWith(dir + '/')).map((g) => [g.path, g.access, g.source.kind]);
  const jailPkg = { '/opt/jail/bin/jail.cjs': x, '/opt/jail/package.json': '{}', '/opt/jail/src/secret.ts': 'x', '/opt/jail/bin/out': { link: '/home/u' } };
  it("a folder install (node_modules/jail links out of the project to this jail): jail's runtime, read-only", () => {
    const a = assemble(req(), host({}, { ...jailPkg, '/work/proj/node_modules/jail': { link: '/opt/jail' } }));
    expect(grantsUnder(a, '/opt/jail')).toEqual([
      ['/opt/jail/bin', 'ro', 'jail'],
      ['/opt/jail/dist', 'ro', 'jail'],
      ['/opt/jail/package.json', 'ro', 'jail'],
    ]);
  });
  it('nothing without the link, or when it leads to another jail', () => {
    expect(grantsUnder(assemble(req(), host({}, jailPkg)), '/opt/jail')).toEqual([]);
    const other = { '/srv/jail/bin/jail.cjs': x, '/work/proj/node_modules/jail': { link: '/srv/jail' } };
    expect(grantsUnder(assemble(req(), host({}, { ...jailPkg, ...other })), '/srv/jail')).toEqual([]);
  });
});
