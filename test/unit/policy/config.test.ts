import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../src/errors.js';
import { loadConfig, mergeOptions, resolveProfile, listProfiles, type ConfigContext } from '../../../src/policy/config.js';
import type { Host } from '../../../src/policy/host.js';
import { fakeHost } from '../fakehost.js';

const tree = {
  '/home/u/.ssh/id_rsa': 'KEY',
  '/home/u/.npm/_cacache/x': 'x',
  '/usr/bin/node': { file: 'ELF', x: true },
  '/work/proj/package.json': '{}',
  '/work/proj/src/a.ts': 'x',
  '/work/proj/sub/deeper/b.ts': 'x',
  '/work/proj/escape': { link: '/home/u' },
  '/work/other/x': 'x',
};

function ctx(files: Record<string, string>, over: Partial<Host> = {}): ConfigContext {
  const host = fakeHost({ ...tree, ...Object.fromEntries(Object.keys(files).map((f) => [f, 'file'])) }, over);
  return { host, readFile: (p) => files[p] ?? null, nodePrefix: '/usr', npmCache: '/home/u/.npm' };
}
const project = (profiles: unknown) => ({ '/work/proj/jail.config.json': JSON.stringify({ profiles }) });
const user = (profiles: unknown) => ({ '/home/u/.config/jail/config.json': JSON.stringify({ profiles }) });
const paths = (entries: unknown) => (entries as Array<{ path: string } | string>).map((e) => (typeof e === 'string' ? e : e.path));

describe('files and layers', () => {
  it('finds the project root upwards from the working directory', () => {
    expect(loadConfig(ctx({}, { cwd: '/work/proj/sub/deeper' })).projectRoot).toBe('/work/proj');
  });
  it('resolves relative paths against the declaring file, not the working directory', () => {
    const c = loadConfig(ctx(project({ t: { rw: ['src', 'gone?'] } }), { cwd: '/work/proj/sub' }));
    expect(paths(resolveProfile(c, 't').options.rw)).toEqual(['/work/proj/src', '/work/proj/gone?']);
  });
  it('reads package.json "jail" only without jail.config.json', () => {
    const pkg = { '/work/proj/package.json': JSON.stringify({ name: 'p', jail: { profiles: { fromPkg: { ro: ['src'] } } } }) };
    expect(listProfiles(loadConfig(ctx(pkg))).map((p) => p.name)).toContain('fromPkg');
    expect(listProfiles(loadConfig(ctx({ ...pkg, ...project({ fromFile: {} }) }))).map((p) => p.name)).not.toContain('fromPkg');
  });
  it('honours XDG_CONFIG_HOME', () => {
    const c = ctx({ '/xdg/jail/config.json': JSON.stringify({ profiles: { mine: { ro: ['/work/other'] } } }) });
    expect(listProfiles(loadConfig({ ...c, xdgConfigHome: '/xdg' })).map((p) => p.name)).toContain('mine');
  });
  it('merges layers lowest first: built-in, user, project; then flags', () => {
    const c = loadConfig(ctx({ ...user({ node: { net: 'all', ro: ['/work/other'] } }), ...project({ node: { net: 'none', rw: ['src'] } }) }));
    const { options, chain } = resolveProfile(c, 'node');
    expect(options.net).toBe('none');
    expect(paths(options.ro)).toEqual(['/usr', '/work/proj', '/work/other']);
    expect(chain).toEqual(['node (built-in)', 'node (user /home/u/.config/jail/config.json)', 'node (project /work/proj/jail.config.json)']);
    expect(mergeOptions(options, { net: 'all', ro: ['x'] })).toMatchObject({ net: 'all' });
  });
  it('extends: parents first, arrays concatenate without duplicates', () => {
    const c = loadConfig(ctx(project({ a: { extends: 'read-only', rw: ['src'] }, b: { extends: ['a', 'read-only'], system: false } })));
    const { options, chain } = resolveProfile(c, 'b');
    expect(chain).toEqual(['read-only (built-in)', 'a (project /work/proj/jail.config.json)', 'b (project /work/proj/jail.config.json)']);
    expect(paths(options.ro)).toEqual(['/work/proj']);
    expect(options.system).toBe(false);
  });
});

describe('errors', () => {
  const err = (files: Record<string, string>, name = 't') => {
    try {
      resolveProfile(loadConfig(ctx(files)), name);
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError);
      return (e as Error).message;
    }
    return 'no error';
  };
  it.each([
    [{ '/work/proj/jail.config.json': '{"profiles": {"t": {"ro": [".",}}}' }, /^\/work\/proj\/jail\.config\.json(:\d+:\d+)?: not valid JSON/],
    [project({ t: { ro: 'src' } }), /profile "t": "ro" must be an array of strings\./],
    [project({ t: { rwx: [] } }), /profile "t": unknown field "rwx"\./],
    [project({ t: { net: 'some' } }), /"net" must be "none" or "all"/],
    [project({ t: { extends: 'nope' } }), /unknown profile "nope"/],
    [project({ t: { extends: 'u' }, u: { extends: 't' } }), /in a circle: t → u → t/],
    [{ '/work/proj/jail.config.json': '[]' }, /must be an object with a "profiles" object/],
  ])('%#', (files, message) => {
    expect(err(files)).toMatch(message);
  });
  it('an unknown profile lists the names and suggests a close one', () => {
    expect(err({}, 'tset')).toMatch(/unknown profile "tset"; profiles: default, node, npm-install, read-only, test\./);
  });
});

describe('a project config cannot grant anything outside the project', () => {
  const refused = (spec: unknown) => () => loadConfig(ctx(project({ t: spec })));
  it.each([
    [{ ro: ['~'] }, /"ro" path \/home\/u is outside the project/],
    [{ ro: ['~/.ssh?'] }, /outside the project/],
    [{ rw: ['/'] }, /outside the project/],
    [{ rw: ['..'] }, /outside the project/],
    [{ ro: ['../other'] }, /outside the project/],
    [{ ro: ['escape'] }, /"ro" path \/home\/u is outside the project/],
    [{ net: 'all' }, /may not set "net": "all"/],
    [{ allowConnect: [443] }, /"allowConnect"/],
    [{ allowBind: ['8000-8001'] }, /"allowBind"/],
    [{ allowDns: true }, /"allowDns"/],
    [{ allowUnix: true }, /"allowUnix"/],
    [{ allowRawSockets: true }, /"allowRawSockets"/],
    [{ allowSysvIpc: true }, /"allowSysvIpc"/],
    [{ allowSyscall: ['ptrace'] }, /"allowSyscall"/],
    [{ keepCaps: true }, /"keepCaps"/],
    [{ envAll: true }, /"envAll"/],
    [{ env: ['AWS_SECRET_ACCESS_KEY'] }, /may not pass "AWS_SECRET_ACCESS_KEY" through/],
  ])('%j is refused', (spec, message) => {
    expect(refused(spec)).toThrowError(message);
    try {
      refused(spec)();
    } catch (e) {
      expect((e as PolicyError).hint).toMatch(/~\/\.config\/jail\/config\.json or pass the flag yourself/);
    }
  });
  it.each([[{ ro: ['src', 'missing?'], rw: ['sub'] }], [{ system: false, net: 'none', cleanEnv: true, privateTmp: false }], [{ env: ['MODE=test'] }], [{ extends: 'npm-install' }]])(
    '%j is allowed',
    (spec) => {
      expect(refused(spec)).not.toThrow();
    },
  );
  it('a user config may grant outside paths, and a project may extend such a profile', () => {
    const c = loadConfig(ctx({ ...user({ keys: { ro: ['~/.ssh'], allowConnect: [443] } }), ...project({ t: { extends: 'keys' } }) }));
    const { options } = resolveProfile(c, 't');
    expect(paths(options.ro)).toEqual(['/home/u/.ssh']);
    expect(options.allowConnect).toEqual(['443']);
  });
});

describe('built-in profiles', () => {
  const c = loadConfig(ctx({}));
  it('npm-install: project and npm cache read-write, node read-only, no network', () => {
    const { options } = resolveProfile(c, 'npm-install');
    expect(paths(options.rw)).toEqual(['/home/u/.npm?', '/work/proj']);
    expect(paths(options.ro)).toEqual(['/usr', '/work/proj', '/home/u/.node-gyp?', '/home/u/.cache/node-gyp?']);
    expect(options.net).toBe('none');
  });
  it('none of them grants $HOME or its secrets', () => {
    for (const { name } of listProfiles(c)) {
      const { options } = resolveProfile(c, name);
      for (const p of [...paths(options.ro ?? []), ...paths(options.rw ?? [])]) {
        expect(['/home/u', '/home/u/', '/home/u/.ssh', '/home/u/.npmrc', '/home/u/.config']).not.toContain(p.replace(/\?$/, ''));
      }
    }
  });
});

import { profileForScript } from '../../../src/cli/script-shell.js';

describe('jail-sh picks a profile from npm_lifecycle_event', () => {
  const has = (n: string) => ['test', 'build'].includes(n);
  it.each([
    ['postinstall', '/p/node_modules/evil', 'npm-install'],
    ['install', '/p/node_modules/@s/native', 'npm-install'],
    ['preinstall', '/p/node_modules/a/node_modules/b', 'npm-install'],
    ['test', '/p', 'test'],
    ['build', '/p', 'build'],
    ['postinstall', '/p', 'default'],
    ['lint', '/p', 'default'],
    [undefined, '/p', 'default'],
  ])('%s in %s → %s', (event, cwd, profile) => {
    expect(profileForScript(event, cwd, has)).toBe(profile);
  });
});
