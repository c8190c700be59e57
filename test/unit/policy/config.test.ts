import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../src/errors.js';
import { buildPolicy, type JailOptions } from '../../../src/policy/build.js';
import {
  closest,
  findProjectRoot,
  listProfiles,
  loadConfig,
  mergeOptions,
  parseJson,
  resolveProfile,
  type ConfigContext,
} from '../../../src/policy/config.js';
import type { Host } from '../../../src/policy/host.js';
import { BUILTIN_PROFILES, builtinProfiles } from '../../../src/policy/profiles.js';
import { profileForScript } from '../../../src/cli/script-shell.js';
import { fakeHost, type Node } from '../fakehost.js';

const PROJECT = '/work/proj';
const PCONF = `${PROJECT}/jail.config.json`;
const UCONF = '/home/u/.config/jail/config.json';
const NODE = '/home/u/.nvm/versions/node/v20';

/** A machine with a project, a home full of secrets and a node install. */
const base: Record<string, Node> = {
  '/usr/bin/cc': { file: '\x7fELF', x: true },
  [`${NODE}/bin/node`]: { file: '\x7fELF', x: true },
  [`${NODE}/lib/node_modules/npm/package.json`]: '{}',
  '/home/u/.ssh/id_rsa': 'KEY',
  '/home/u/.aws/credentials': 'KEY',
  '/home/u/.npm/_cacache/index': 'x',
  [`${PROJECT}/src/a.ts`]: 'x',
  [`${PROJECT}/dist/a.js`]: 'x',
  [`${PROJECT}/node_modules/.cache/x`]: 'x',
  '/etc/passwd': 'root:x:0:0',
};

function context(files: Record<string, Node>, over: Partial<Host> = {}, ctx: Partial<ConfigContext> = {}): ConfigContext {
  const host = fakeHost({ ...base, ...files }, over);
  return {
    host,
    readFile: (p) => (host.stat(p)?.isFile ? host.readHead(p, 1 << 20) : null),
    nodePrefix: NODE,
    npmCache: '/home/u/.npm',
    ...ctx,
  };
}

/** The project config and user config as objects. */
function load(project?: unknown, user?: unknown, over: Partial<Host> = {}, ctx: Partial<ConfigContext> = {}) {
  const files: Record<string, Node> = { [`${PROJECT}/package.json`]: '{"name":"proj"}' };
  if (project !== undefined) files[PCONF] = JSON.stringify(project, null, 2);
  if (user !== undefined) files[UCONF] = JSON.stringify(user, null, 2);
  return loadConfig(context(files, over, ctx));
}

const profiles = (p: Record<string, unknown>) => ({ profiles: p });
const paths = (xs: JailOptions['ro']) => (xs ?? []).map((e) => (typeof e === 'string' ? e : e.path));

function policyError(f: () => unknown): PolicyError {
  try {
    f();
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  throw new Error('expected a PolicyError');
}

describe('JSON errors', () => {
  const cases: Array<[string, string, number, number, string]> = [
    // text, what, line, col, excerpt-and-caret
    ['{\n  "profiles": {\n    "t": { "ro": [".",}\n  }\n}', "expected a value, found '}' (JSON has no trailing commas)", 3, 23, '    "t": { "ro": [".",}\n                      ^'],
    ['{"a": [1,]}', "expected a value, found ']' (JSON has no trailing commas)", 1, 10, '{"a": [1,]}\n         ^'],
    ['{"a": 1,}', "expected a property name in double quotes, found '}' (JSON has no trailing commas)", 1, 9, '{"a": 1,}\n        ^'],
    ["{'a': 1}", `unexpected "'" (strings take double quotes)`, 1, 2, "{'a': 1}\n ^"],
    ['{"a": node}', 'unexpected word "node" (strings take double quotes)', 1, 7, '{"a": node}\n      ^'],
    ['{"a" 1}', "expected ':' after a property name, found '1'", 1, 6, '{"a" 1}\n     ^'],
    ['{"a": 1 "b": 2}', "expected ',', found '\"'", 1, 9, '{"a": 1 "b": 2}\n        ^'],
    ['{"a": [1 2]}', "expected ',', found '2'", 1, 10, '{"a": [1 2]}\n         ^'],
    ['{"a": "x\ny"}', 'string not closed', 1, 7, '{"a": "x\n      ^'],
    ['{"a": "\\q"}', 'bad escape in a string', 1, 7, '{"a": "\\q"}\n      ^'],
    ['{"a": "x', 'string not closed', 1, 7, '{"a": "x\n      ^'],
    ['{"a": [1,\n', 'expected a value, found the end of the file', 2, 1, '\n^'],
    ['', 'expected a value, found the end of the file', 1, 1, '\n^'],
    ['{} x', 'unexpected word "x" (strings take double quotes)', 1, 4, '{} x\n   ^'],
    ['{"a": tru}', 'unexpected word "tru" (strings take double quotes)', 1, 7, '{"a": tru}\n      ^'],
    ['{"a": 01}', "expected ',', found '1'", 1, 8, '{"a": 01}\n       ^'],
    ['\t{"a": }', "expected a value, found '}'", 1, 8, '\t{"a": }\n\t      ^'],
  ];
  it.each(cases)('%j: %s at %i:%i with a caret', (text, what, line, col, excerpt) => {
    const e = policyError(() => parseJson(text, '/p/jail.config.json'));
    expect(e.message).toBe(`/p/jail.config.json:${line}:${col}: not valid JSON: ${what}\n    ${excerpt.replace('\n', '\n    ')}`);
    expect(e.source).toBe('/p/jail.config.json');
    expect(e.hint).toMatch(/trailing commas/);
  });

  it('a file nested too deeply for the parser is refused as a PolicyError (exit 125), not an internal error', () => {
    const n = 200_000;
    for (const [text, comments] of [['['.repeat(n) + ']'.repeat(n), true], [`{"jail":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`, false]] as const) {
      const e = policyError(() => parseJson(text, '/p/x.json', { comments }));
      expect(e.message).toMatch(/^\/p\/x\.json: nested too deeply/);
      expect(e.source).toBe('/p/x.json');
    }
  });

  it('jail.config.json may hold comments; package.json may not', () => {
    expect(parseJson('{\n  // why\n  "a": /* x */ 1\n}', 'f', { comments: true })).toEqual({ a: 1 });
    expect(policyError(() => parseJson('{\n  // why\n}', '/p/package.json')).message).toBe(
      '/p/package.json:2:3: not valid JSON: unexpected comment (package.json is plain JSON)\n      // why\n      ^',
    );
  });

  it('agrees with JSON.parse on what is valid', () => {
    for (const ok of ['{}', '[]', '{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', ' \n"x" ', '0', '{"__proto__": 1}']) {
      expect(() => parseJson(ok, 'f')).not.toThrow();
    }
  });

  it('print no terminal escapes from the file, and cut long lines around the column', () => {
    const e = policyError(() => parseJson('{"a": \x1b[31m}', 'f'));
    expect(e.message).toContain('unexpected "\\u001b"');
    expect(e.message).not.toContain('\x1b');
    const long = `{"a": "${'x'.repeat(300)}", "b": ,"c": "${'y'.repeat(300)}"}`;
    const m = policyError(() => parseJson(long, 'f')).message.split('\n');
    expect(m[0]).toBe("f:1:316: not valid JSON: expected a value, found ','");
    expect(m[1]!.length).toBeLessThan(110);
    expect(m[1]!.startsWith('    …')).toBe(true);
    expect(m[2]!.indexOf('^')).toBe(m[1]!.indexOf(',"c"'));
  });

  it('a BOM is skipped, and errors in the user config name that file', () => {
    expect(parseJson('\uFEFF{"a": 1}', 'f')).toEqual({ a: 1 });
    const ctx = context({ [UCONF]: '{"profiles": {,}}' });
    expect(() => loadConfig(ctx)).toThrowError(`${UCONF}:1:15: not valid JSON`);
  });
});

describe('schema errors name the file, the profile and the field', () => {
  const cases: Array<[string, unknown, string]> = [
    ['not an object', [1], `${PCONF} must be a JSON object.`],
    ['unknown top key', { profile: {} }, `${PCONF}: unknown key "profile"; a config holds "profiles".`],
    ['profiles not an object', { profiles: [] }, `${PCONF}: "profiles" must be an object of named profiles.`],
    ['bad profile name', profiles({ 'a b': {} }), `${PCONF}: profile name "a b" is not a name.`],
    ['__proto__ is no name', JSON.parse('{"profiles": {"__proto__": {}}}'), `${PCONF}: profile name "__proto__" is not a name.`],
    ['profile not an object', profiles({ t: ['.'] }), `${PCONF}: profile "t" must be an object of fields.`],
    ['unknown field, did you mean', profiles({ t: { rwx: [] } }), `${PCONF}: profile "t": unknown field "rwx"; did you mean "rw"?`],
    ['unknown field', profiles({ t: { network: 'all' } }), `${PCONF}: profile "t": unknown field "network".`],
    ['camelCase only', profiles({ t: { 'allow-dns': true } }), `${PCONF}: profile "t": unknown field "allow-dns"; did you mean "allowDns"?`],
    ['rw as a string', profiles({ t: { rw: 'src' } }), `${PCONF}: profile "t": "rw" must be an array of paths.`],
    ['ro with a number', profiles({ t: { ro: ['.', 1] } }), `${PCONF}: profile "t": "ro" must be an array of paths.`],
    ['empty path', profiles({ t: { ro: [''] } }), `${PCONF}: profile "t": "ro" holds an empty path.`],
    ['system as a string', profiles({ t: { system: 'no' } }), `${PCONF}: profile "t": "system" must be true or false.`],
    ['net', profiles({ t: { net: 'some' } }), `${PCONF}: profile "t": "net" must be "none" or "all".`],
    ['ports', profiles({ t: { allowConnect: 443 } }), `${PCONF}: profile "t": "allowConnect" must be an array of ports (443) or port ranges ("8000-8100").`],
    ['bad port', profiles({ t: { allowBind: [70000] } }), `${PCONF}: profile "t": "allowBind": 70000 is not a TCP port or port range (1 to 65535).`],
    ['bad range', profiles({ t: { allowBind: ['9-1'] } }), `${PCONF}: profile "t": "allowBind": "9-1" is not a TCP port or port range (1 to 65535).`],
    ['fractional port', profiles({ t: { allowBind: [80.5] } }), `${PCONF}: profile "t": "allowBind" must be an array of ports (443) or port ranges ("8000-8100").`],
    ['allowUnix false', profiles({ t: { allowUnix: false } }), `${PCONF}: profile "t": "allowUnix" must be true or an array of socket paths.`],
    ['syscall', profiles({ t: { allowSyscall: ['ptrace()'] } }), `${PCONF}: profile "t": "allowSyscall": "ptrace()" is not a syscall name.`],
    ['env', profiles({ t: { env: ['1X=2'] } }), `${PCONF}: profile "t": "env": "1X=2" is not NAME or NAME=VALUE.`],
    ['env not strings', profiles({ t: { env: { A: 1 } } }), `${PCONF}: profile "t": "env" must be an array of "NAME" or "NAME=VALUE" strings.`],
    ['description', profiles({ t: { description: 1 } }), `${PCONF}: profile "t": "description" must be a string.`],
    ['description escapes', profiles({ t: { description: 'ok\x1b]0;pwned\x07' } }), `${PCONF}: profile "t": "description" must not hold control characters.`],
    ['extends type', profiles({ t: { extends: 1 } }), `${PCONF}: profile "t": "extends" must be a profile name or an array of them.`],
    ['unknown extends', profiles({ t: { extends: 'nod' } }), `${PCONF}: profile "t" extends unknown profile "nod"; did you mean "node"?`],
    ['unknown extends, far', profiles({ t: { extends: ['node', 'zzzzzz'] } }), `${PCONF}: profile "t" extends unknown profile "zzzzzz".`],
    ['self cycle', profiles({ t: { extends: 't' } }), `${PCONF}: profile "t" extends itself: t → t.`],
    ['cycle', profiles({ a: { extends: 'b' }, b: { extends: ['node', 'c'] }, c: { extends: 'a' } }), `${PCONF}: profile "a" extends itself: a → b → c → a.`],
  ];
  it.each(cases)('%s', (_, json, message) => {
    const e = policyError(() => load(json));
    expect(e.message).toBe(message);
    expect(e.source).toBe(PCONF);
  });

  it('a cycle across files names each edge’s file', () => {
    const e = policyError(() => load(profiles({ a: { extends: 'b' } }), profiles({ b: { extends: 'a' } })));
    expect(e.message).toBe(`${PCONF}: profile "a" extends itself: a → b → a.`);
    expect(e.hint).toBe(`remove one of: "a" extends "b" in ${PCONF}; "b" extends "a" in ${UCONF}.`);
  });

  it('a project can make a built-in extend in a cycle only to be told so', () => {
    const e = policyError(() => load(profiles({ node: { extends: 'default' } })));
    expect(e.message).toMatch(/profile "(default" extends itself: default → (read-only → )?node → default|node" extends itself: node → default → node)\./);
  });

  it('"$schema" is allowed at the top; unknown field hints list the fields', () => {
    expect(() => load({ $schema: 'https://example.com/s.json', profiles: {} })).not.toThrow();
    expect(policyError(() => load(profiles({ t: { x: 1 } }))).hint).toMatch(/^a profile's fields are description, extends, ro, rw, protect, unprotect, hide, unhide, system, net, /);
  });
});

describe('finding the project and its config', () => {
  it('the project root is the nearest ancestor with jail.config.json or package.json', () => {
    const host = (files: Record<string, Node>, cwd: string) => fakeHost({ ...base, ...files }, { cwd });
    expect(findProjectRoot(host({ [`${PROJECT}/package.json`]: '{}' }, `${PROJECT}/src`))).toBe(PROJECT);
    expect(findProjectRoot(host({ [PCONF]: '{}' }, `${PROJECT}/src`))).toBe(PROJECT);
    expect(findProjectRoot(host({ [PCONF]: '{}', [`${PROJECT}/src/package.json`]: '{}' }, `${PROJECT}/src`))).toBe(`${PROJECT}/src`);
    expect(findProjectRoot(host({}, `${PROJECT}/src`))).toBe(`${PROJECT}/src`); // none: the working directory
    // A directory named package.json is no package.json.
    expect(findProjectRoot(host({ [`${PROJECT}/package.json/x`]: 'x' }, `${PROJECT}/src`))).toBe(`${PROJECT}/src`);
  });

  it('never climbs to $HOME or `/` (a stray ~/package.json is not a project)', () => {
    const h = (cwd: string) => fakeHost({ ...base, '/home/u/package.json': '{}', '/package.json': '{}', '/home/u/scratch/x': 'x', '/srv/a/x': 'x' }, { cwd });
    expect(findProjectRoot(h('/home/u/scratch'))).toBe('/home/u/scratch');
    expect(findProjectRoot(h('/srv/a'))).toBe('/srv/a');
    expect(findProjectRoot(h('/home/u'))).toBe('/home/u'); // started there: the user's call
  });

  it('never climbs into or above a shared sticky directory (a stray or planted /tmp/package.json is not a project)', () => {
    // `npm i x` in /tmp leaves /tmp/package.json; another user can plant
    // /tmp/jail.config.json. Neither makes all of /tmp the project.
    const h = (cwd: string) =>
      fakeHost({ ...base, '/tmp': { dir: true, mode: 0o1777 }, '/tmp/package.json': '{}', '/tmp/jail.config.json': '{}', '/tmp/w/sub/x': 'x', '/tmp/p/package.json': '{}', '/tmp/p/src/x': 'x' }, { cwd });
    expect(findProjectRoot(h('/tmp/w/sub'))).toBe('/tmp/w/sub');
    expect(findProjectRoot(h('/tmp/p/src'))).toBe('/tmp/p'); // a project inside /tmp still is one
    expect(findProjectRoot(h('/tmp'))).toBe('/tmp'); // started there: the user's call
  });

  it('package.json "jail" is used only when jail.config.json is absent', () => {
    const pkg = JSON.stringify({ name: 'p', jail: profiles({ fromPkg: { rw: ['dist'] } }) });
    const both = loadConfig(context({ [`${PROJECT}/package.json`]: pkg, [PCONF]: JSON.stringify(profiles({ fromConf: {} })) }));
    expect(both.projectFile).toBe(PCONF);
    expect(both.profiles.has('fromPkg')).toBe(false);
    expect(both.profiles.has('fromConf')).toBe(true);

    const only = loadConfig(context({ [`${PROJECT}/package.json`]: pkg }));
    expect(only.projectFile).toBe(`${PROJECT}/package.json`);
    expect(resolveProfile(only, 'fromPkg').options.rw).toEqual([{ path: `${PROJECT}/dist`, from: `profile fromPkg, ${PROJECT}/package.json`, within: PROJECT, project: { given: 'dist', where: `${PROJECT}/package.json: profile "fromPkg"` } }]);

    const none = loadConfig(context({ [`${PROJECT}/package.json`]: '{"name": "p"}' }));
    expect(none.projectFile).toBeNull();
    expect([...none.profiles.keys()].sort()).toEqual(['claude', 'codex', 'default', 'node', 'none', 'npm-install', 'read-only', 'test']);
  });

  it('package.json "jail" must be a config object; a broken package.json is reported', () => {
    expect(() => loadConfig(context({ [`${PROJECT}/package.json`]: '{"jail": true}' }))).toThrowError(`"jail" in ${PROJECT}/package.json must be a JSON object.`);
    expect(() => loadConfig(context({ [`${PROJECT}/package.json`]: '{"jail": {"profiles": {"t": {"rw": "x"}}}}' }))).toThrowError(
      `${PROJECT}/package.json: profile "t": "rw" must be an array of paths.`,
    );
    expect(() => loadConfig(context({ [`${PROJECT}/package.json`]: '{"name": "p",}' }))).toThrowError(`${PROJECT}/package.json:1:14: not valid JSON`);
  });

  it('reads at most three files', () => {
    const read: string[] = [];
    const ctx = context({ [`${PROJECT}/package.json`]: '{}' });
    loadConfig({ ...ctx, readFile: (p, o) => (read.push(p), ctx.readFile!(p, o)) });
    expect(read).toEqual([UCONF, PCONF, `${PROJECT}/package.json`]);
  });

  it('$XDG_CONFIG_HOME is honoured when absolute', () => {
    const user = JSON.stringify(profiles({ mine: { ro: ['~/.gitconfig?'] } }));
    const xdg = loadConfig(context({ '/xdg/jail/config.json': user }, {}, { xdgConfigHome: '/xdg' }));
    expect(xdg.userFile).toBe('/xdg/jail/config.json');
    expect(xdg.profiles.has('mine')).toBe(true);
    const ignored = loadConfig(context({ '/xdg/jail/config.json': user }, {}, { xdgConfigHome: 'relative' }));
    expect(ignored.userConfigPath).toBe(UCONF);
    expect(ignored.profiles.has('mine')).toBe(false);
    expect(loadConfig(context({})).userFile).toBeNull();
  });
});

describe('paths', () => {
  it('are relative to the declaring file’s directory, not the working directory', () => {
    const config = load(profiles({ t: { ro: ['.', 'src', './dist/../dist/', 'gone?'] } }), profiles({ u: { ro: ['notes', '~/.gitconfig?', '/opt/x'] } }), {
      cwd: `${PROJECT}/src`,
    });
    expect(config.projectRoot).toBe(PROJECT);
    expect(paths(resolveProfile(config, 't').options.ro)).toEqual([PROJECT, `${PROJECT}/src`, `${PROJECT}/dist`, `${PROJECT}/gone?`]);
    expect(paths(resolveProfile(config, 'u').options.ro)).toEqual(['/home/u/.config/jail/notes', '/home/u/.gitconfig?', '/opt/x']);
  });

  it('say which profile and file they came from, and build into grants', () => {
    const config = load(profiles({ t: { extends: 'read-only', rw: ['dist'] } }));
    const { options } = resolveProfile(config, 't');
    expect(options.ro).toEqual([{ path: PROJECT, from: 'built-in profile read-only', within: PROJECT }]);
    expect(options.rw).toEqual([{ path: `${PROJECT}/dist`, from: `profile t, ${PCONF}`, within: PROJECT, project: { given: 'dist', where: `${PCONF}: profile "t"` } }]);
    const policy = buildPolicy({ ...options, system: false }, config.host);
    expect(policy.grants.map((g) => [g.access, g.path, g.source])).toEqual([
      ['ro', PROJECT, { kind: 'config', flag: '--ro', given: PROJECT, where: 'built-in profile read-only' }],
      ['rw', `${PROJECT}/dist`, { kind: 'config', flag: '--rw', given: `${PROJECT}/dist`, where: `profile t, ${PCONF}`, project: { given: 'dist', where: `${PCONF}: profile "t"` } }],
    ]);
  });

  it('allowUnix paths are absolute too', () => {
    const config = load(undefined, profiles({ docker: { allowUnix: ['/run/docker.sock', 'agent.sock'] }, any: { allowUnix: true } }));
    expect(resolveProfile(config, 'docker').options.allowUnix).toEqual(['/run/docker.sock', '/home/u/.config/jail/agent.sock']);
    expect(resolveProfile(config, 'any').options.allowUnix).toEqual([true]);
  });
});

describe('layers, extends and merging', () => {
  it('same-named profiles merge built-in < user < project; arrays concatenate, scalars override', () => {
    const config = load(
      profiles({ node: { rw: ['dist'], net: 'none', description: 'project node' } }),
      profiles({ node: { ro: ['~/.gitconfig?'], rw: ['~/.npm?'], net: 'all', allowConnect: [443], env: ['CI'], cleanEnv: true } }),
    );
    const r = resolveProfile(config, 'node');
    expect(paths(r.options.ro)).toEqual([NODE, PROJECT, '/home/u/.gitconfig?']);
    expect(paths(r.options.rw)).toEqual(['/home/u/.npm?', `${PROJECT}/dist`]); // ~/.npm? once: de-duplicated
    expect(r.options.net).toBe('none'); // the project's, on top
    expect(r.options.allowConnect).toEqual(['443']); // numbers become strings
    expect(r.options.env).toEqual(['CI']);
    expect(r.options.cleanEnv).toBe(true);
    expect(r.description).toBe('project node');
    expect(r.chain).toEqual([`node (built-in, user ${UCONF}, project ${PCONF})`]);
  });

  it('extended profiles come first (lower), each once, in order', () => {
    const config = load(
      profiles({ top: { extends: ['b', 'c'], net: 'none' } }),
      profiles({ b: { extends: 'node', net: 'all', ro: ['/opt/b'] }, c: { extends: 'node', ro: ['/opt/c'], allowDns: true } }),
    );
    const r = resolveProfile(config, 'top');
    expect(r.chain).toEqual(['node (built-in)', `b (user ${UCONF})`, `c (user ${UCONF})`, `top (project ${PCONF})`]);
    expect(paths(r.options.ro)).toEqual([NODE, PROJECT, '/opt/b', '/opt/c']);
    expect(r.options.net).toBe('none');
    expect(r.options.allowDns).toBe(true);
  });

  it('a user profile overrides what it extends', () => {
    const config = load(undefined, profiles({ dev: { extends: 'npm-install', net: 'all', privateTmp: false } }));
    const r = resolveProfile(config, 'dev');
    expect(r.options.net).toBe('all');
    expect(r.options.privateTmp).toBe(false);
    expect(r.chain).toEqual(['node (built-in)', 'npm-install (built-in)', `dev (user ${UCONF})`]);
  });

  it('extends merges across layers too', () => {
    const config = load(profiles({ t: { extends: 'test' } }), profiles({ test: { extends: 'read-only' } }));
    expect(resolveProfile(config, 't').chain.map((c) => c.split(' ')[0])).toEqual(['node', 'read-only', 'test', 't']);
  });

  describe('mergeOptions', () => {
    const cases: Array<[string, JailOptions, JailOptions, JailOptions]> = [
      ['empty', {}, {}, {}],
      ['scalars: upper wins', { net: 'all', system: false }, { net: 'none' }, { net: 'none', system: false }],
      ['false wins over true', { allowDns: true }, { allowDns: false }, { allowDns: false }],
      ['undefined does not override', { net: 'all' }, { net: undefined }, { net: 'all' }],
      ['arrays concatenate, de-duplicated, order kept', { allowConnect: ['443', '80'] }, { allowConnect: ['80', '22'] }, { allowConnect: ['443', '80', '22'] }],
      ['path entries by path', { ro: [{ path: '/a', from: 'x' }] }, { ro: ['/a', { path: '/a', from: 'y' }, 'b'] }, { ro: [{ path: '/a', from: 'x' }, 'b'] }],
      ['allowUnix', { allowUnix: [true] }, { allowUnix: [true, '/s'] }, { allowUnix: [true, '/s'] }],
      ['keepFd numbers', { keepFd: [3] }, { keepFd: [3, 4] }, { keepFd: [3, 4] }],
    ];
    it.each(cases)('%s', (_, lower, upper, out) => {
      expect(mergeOptions(lower, upper)).toEqual(out);
    });
    it('puts flags on top of a profile', () => {
      const { options } = resolveProfile(load(), 'npm-install');
      const merged = mergeOptions(options, { rw: ['./extra'], net: 'all', allowConnect: ['443'] });
      expect(paths(merged.rw)).toEqual([PROJECT, './extra']);
      expect(merged.npmCache).toBe(true);
      expect(merged.net).toBe('all');
      expect(merged.allowConnect).toEqual(['443']);
      expect(options.net).toBe('none'); // inputs untouched
    });
  });
});

describe('unknown profiles', () => {
  const config = load(profiles({ build: {} }));
  it('list the names, with a did-you-mean when one is close', () => {
    const e = policyError(() => resolveProfile(config, 'tset'));
    expect(e.message).toBe('unknown profile "tset"; profiles: build, claude, codex, default, node, none, npm-install, read-only, test.');
    expect(e.hint).toBe('did you mean -p test?');
  });
  it('say where to define one otherwise', () => {
    expect(policyError(() => resolveProfile(config, 'deploy')).hint).toBe(`define it under "profiles" in ${PCONF} or ~/.config/jail/config.json.`);
  });
  it('constructor, __proto__ and toString are not profiles', () => {
    for (const n of ['constructor', '__proto__', 'toString']) expect(() => resolveProfile(config, n)).toThrowError(PolicyError);
  });
  it('did-you-mean stays quiet for far-off names', () => {
    expect(closest('npm-instal', ['npm-install', 'node'])).toBe('npm-install');
    expect(closest('xyz', ['node', 'test'])).toBeUndefined();
    expect(closest('nod', ['node'])).toBe('node');
  });
});

describe('the security rule: a project config may narrow, and grant inside the project only', () => {
  const tree: Record<string, Node> = {
    [`${PROJECT}/escape`]: { link: '/home/u' },
    [`${PROJECT}/sshlink`]: { link: '../../home/u/.ssh' },
    [`${PROJECT}/inner`]: { link: 'src' },
    [`${PROJECT}/package.json`]: '{}',
  };
  const project = (p: Record<string, unknown>, user?: unknown, over: Partial<Host> = {}) => {
    const files: Record<string, Node> = { ...tree, [PCONF]: JSON.stringify(profiles(p)) };
    if (user !== undefined) files[UCONF] = JSON.stringify(user);
    return loadConfig(context(files, over));
  };
  const refusal = (fields: Record<string, unknown>, over: Partial<Host> = {}) => policyError(() => resolveProfile(project({ evil: fields }, undefined, over), 'evil'));

  const NARROW = "it may only narrow the policy and grant paths inside the project";
  const mayNot = (what: string, why = NARROW) => `a project's config may not set ${what}; ${why}`;
  const outside = (key: string, given: string, shown: string) =>
    `"${key}" path ${JSON.stringify(given)} (${shown}) is outside the project /work/proj; a project's config may only grant paths inside it`;
  const refused: Array<[string, Record<string, unknown>, string, string]> = [
    // case, fields, message after `profile "evil": `, the flag in the hint
    ['net all', { net: 'all' }, mayNot('"net": "all"'), '--net all'],
    ['allowConnect', { allowConnect: [443] }, mayNot('"allowConnect"'), '--allow-connect 443'],
    ['allowBind', { allowBind: ['8000-8100'] }, mayNot('"allowBind"'), '--allow-bind 8000-8100'],
    ['allowHost', { allowHost: ['evil.example'] }, mayNot('"allowHost"'), '--allow-host evil.example'],
    ['allowDns', { allowDns: true }, mayNot('"allowDns": true'), '--allow-dns'],
    ['allowUnix', { allowUnix: true }, mayNot('"allowUnix"'), '--allow-unix'],
    ['allowUnix path', { allowUnix: ['s.sock'] }, mayNot('"allowUnix"'), '--allow-unix s.sock'],
    ['allowRawSockets', { allowRawSockets: true }, mayNot('"allowRawSockets": true'), '--allow-raw-sockets'],
    ['allowSysvIpc', { allowSysvIpc: true }, mayNot('"allowSysvIpc": true'), '--allow-sysv-ipc'],
    ['allowSyscall', { allowSyscall: ['ptrace'] }, mayNot('"allowSyscall"'), '--allow-syscall ptrace'],
    ['keepCaps', { keepCaps: true }, mayNot('"keepCaps": true'), '--keep-caps'],
    ['envAll', { envAll: true }, mayNot('"envAll": true'), '--env-all'],
    ['toolchains', { toolchains: true }, mayNot('"toolchains": true'), '--toolchains'],
    [
      'env pass-through',
      { env: ['FOO=1', 'GITHUB_TOKEN'] },
      `a project's config may not pass "GITHUB_TOKEN" through from your environment; it could hand a secret to the program ("NAME=VALUE" is fine)`,
      '--env GITHUB_TOKEN',
    ],
    ['~', { ro: ['~'] }, outside('ro', '~', '/home/u'), '--ro ~'],
    ['~/.ssh', { rw: ['~/.ssh'] }, outside('rw', '~/.ssh', '/home/u/.ssh'), '--rw ~/.ssh'],
    ['/', { ro: ['/'] }, outside('ro', '/', '/'), '--ro /'],
    ['absolute outside', { ro: ['/etc'] }, outside('ro', '/etc', '/etc'), '--ro /etc'],
    ['..', { ro: ['..'] }, outside('ro', '..', '/work'), '--ro ..'],
    ['../ sibling', { rw: ['../proj-other?'] }, outside('rw', '../proj-other?', '/work/proj-other'), '--rw ../proj-other?'],
    ['a name sharing the prefix', { rw: ['/work/proj2?'] }, outside('rw', '/work/proj2?', '/work/proj2'), '--rw /work/proj2?'],
    ['symlink out', { ro: ['escape'] }, outside('ro', 'escape', '/work/proj/escape → /home/u'), '--ro escape'],
    ['relative symlink out', { rw: ['sshlink'] }, outside('rw', 'sshlink', '/work/proj/sshlink → /home/u/.ssh'), '--rw sshlink'],
    ['through a symlink', { ro: ['escape/.aws'] }, outside('ro', 'escape/.aws', '/work/proj/escape/.aws → /home/u/.aws'), '--ro escape/.aws'],
    ['missing optional under a symlink', { rw: ['escape/.newdir?'] }, outside('rw', 'escape/.newdir?', '/work/proj/escape/.newdir → /home/u/.newdir'), '--rw escape/.newdir?'],
    ['system back on', { system: true }, mayNot('"system": true', 'it would turn the system base back on'), ''],
    ['clean env back off', { cleanEnv: false }, mayNot('"cleanEnv": false', 'it would turn the clean environment back off'), ''],
  ];
  it.each(refused)('refuses %s', (_, fields, what, flag) => {
    const e = refusal(fields);
    expect(e.message).toBe(`${PCONF}: profile "evil": ${what}.`);
    expect(e.hint).toBe(flag ? `put it in ~/.config/jail/config.json or pass the flag yourself (${flag}).` : 'put it in ~/.config/jail/config.json if you mean it.');
    expect(e.source).toBe(PCONF);
  });

  it("refuses changing what a built-in or user profile extends (a dependency's package.json must not pull the user's grants into npm-install)", () => {
    const user = profiles({ deploy: { ro: ['~/.ssh'] }, mine: { ro: ['/opt'] } });
    const e = policyError(() => resolveProfile(project({ 'npm-install': { extends: 'deploy' } }, user), 'npm-install'));
    expect(e.message).toBe(`${PCONF}: profile "npm-install": a project's config may not change what "npm-install" extends, since a built-in profile defines it.`);
    expect(e.hint).toBe('give the project\'s profile a name of its own, e.g. "npm-install-project", and extend "npm-install" from it.');
    expect(() => resolveProfile(project({ mine: { extends: 'read-only' } }, user), 'mine')).toThrowError(
      `a project's config may not change what "mine" extends, since your ~/.config/jail/config.json defines it.`,
    );
    // Extending the built-in of its own name is the layering itself: allowed; more is a change.
    const t = resolveProfile(project({ test: { extends: 'test', rw: ['dist'] } }, user), 'test');
    expect(t.chain.at(-1)).toMatch(/^test \(built-in, project /);
    expect(t.chain.some((c) => c.startsWith('node '))).toBe(true);
    expect(() => resolveProfile(project({ test: { extends: ['test', 'deploy'] } }, user), 'test')).toThrowError(`a project's config may not change what "test" extends`);
    expect(() => resolveProfile(project({ mine: { extends: 'mine' } }, user), 'mine')).not.toThrow();
    // Adding paths inside the project to a built-in is fine; so is a new name extending it.
    expect(() => resolveProfile(project({ 'npm-install': { rw: ['dist'] } }, user), 'npm-install')).not.toThrow();
    expect(() => resolveProfile(project({ 'npm-install-project': { extends: ['npm-install', 'deploy'] } }, user), 'npm-install-project')).not.toThrow();
  });

  it('refuses what a project adds to a same-named built-in or user profile', () => {
    const e = policyError(() => resolveProfile(project({ test: { rw: ['~/.aws'] } }), 'test'));
    expect(e.message).toMatch(/^\/work\/proj\/jail.config.json: profile "test": "rw" path "~\/.aws" \(\/home\/u\/.aws\) is outside the project/);
    const u = policyError(() => resolveProfile(project({ mine: { net: 'all' } }, profiles({ mine: { ro: ['/opt'] } })), 'mine'));
    expect(u.message).toMatch(/profile "mine": a project's config may not set "net": "all"/);
  });

  it('refuses through extends: a project profile extending a refused project profile', () => {
    const e = policyError(() => resolveProfile(project({ bad: { allowDns: true }, nice: { extends: 'bad' } }), 'nice'));
    expect(e.message).toMatch(/profile "bad": a project's config may not set "allowDns": true/);
  });

  it('checks against the project root’s real path', () => {
    // The project reached through a symlinked directory: realpaths are compared.
    const config = loadConfig(
      context({ ...tree, '/home/u/code': { link: PROJECT }, [PCONF]: JSON.stringify(profiles({ t: { rw: ['src', 'inner'] } })) }, { cwd: '/home/u/code' }),
    );
    expect(config.projectRoot).toBe('/home/u/code');
    expect(paths(resolveProfile(config, 't').options.rw)).toEqual([`${PROJECT}/src`]); // inner → src: one grant
  });

  const allowed: Array<[string, Record<string, unknown>]> = [
    ['paths inside', { ro: ['.', 'src', './dist/', 'inner', 'missing?', 'src/new/deeper?'], rw: ['dist', 'coverage?'] }],
    ['~ that lands inside', { ro: ['/work/proj/src'] }],
    ['narrowing scalars', { system: false, net: 'none', cleanEnv: true, privateTmp: false, description: 'ci' }],
    ['privateTmp on', { privateTmp: true }],
    ['false grants', { allowDns: false, keepCaps: false, envAll: false, allowRawSockets: false, allowSysvIpc: false }],
    ['empty grant lists', { allowConnect: [], allowBind: [], allowSyscall: [], env: [] }],
    ['env set', { env: ['NODE_ENV=test', 'CI=1', 'EMPTY='] }],
    ['extending built-ins', { extends: ['npm-install', 'test'] }],
  ];
  it.each(allowed)('allows %s', (_, fields) => {
    expect(() => resolveProfile(project({ ok: fields }), 'ok')).not.toThrow();
  });

  it('grants what was checked: the resolved path, with its ?', () => {
    const { options } = resolveProfile(project({ ok: { ro: ['inner', 'src/new?'] } }), 'ok');
    expect(options.ro).toEqual([
      { path: `${PROJECT}/src`, from: `profile ok, ${PCONF}`, within: PROJECT, project: { given: 'inner', where: `${PCONF}: profile "ok"` } },
      { path: `${PROJECT}/src/new?`, from: `profile ok, ${PCONF}`, within: PROJECT, project: { given: 'src/new?', where: `${PCONF}: profile "ok"` } },
    ]);
  });

  it('lets the user layer grant $HOME things', () => {
    const config = project({}, profiles({ keys: { ro: ['~/.ssh'], rw: ['~/.aws'], net: 'all', allowConnect: [22], env: ['SSH_AUTH_SOCK'], envAll: true, keepCaps: true } }));
    const { options } = resolveProfile(config, 'keys');
    expect(paths(options.ro)).toEqual(['/home/u/.ssh']);
    expect(paths(options.rw)).toEqual(['/home/u/.aws']);
    expect(options.net).toBe('all');
    expect(options.env).toEqual(['SSH_AUTH_SOCK']);
  });

  it('lets a project profile extend a user profile that grants outside (the user’s own grant)', () => {
    const config = project({ deploy: { extends: 'keys', rw: ['dist'], net: 'none' } }, profiles({ keys: { ro: ['~/.ssh'], allowConnect: [22] } }));
    const r = resolveProfile(config, 'deploy');
    expect(paths(r.options.ro)).toEqual(['/home/u/.ssh']);
    expect(paths(r.options.rw)).toEqual([`${PROJECT}/dist`]);
    expect(r.options.allowConnect).toEqual(['22']);
    expect(r.chain).toEqual([`keys (user ${UCONF})`, `deploy (project ${PCONF})`]);
  });

  it('package.json "jail" is held to the same rule', () => {
    const pkg = JSON.stringify({ jail: profiles({ evil: { ro: ['~/.ssh'] } }) });
    const config = loadConfig(context({ [`${PROJECT}/package.json`]: pkg }));
    expect(() => resolveProfile(config, 'evil')).toThrowError(`${PROJECT}/package.json: profile "evil": "ro" path "~/.ssh" (/home/u/.ssh) is outside the project /work/proj`);
  });

  it('a refused profile does not stop the others; `jail profiles` shows the problem', () => {
    const config = project({ evil: { rw: ['~'] }, fine: { rw: ['dist'] } });
    expect(() => resolveProfile(config, 'fine')).not.toThrow();
    const list = listProfiles(config);
    expect(list.find((p) => p.name === 'evil')?.problem).toMatch(/"rw" path "~" \(\/home\/u\) is outside the project/);
    expect(list.find((p) => p.name === 'fine')?.problem).toBeUndefined();
  });

  it('the hint names $XDG_CONFIG_HOME’s file when it is set', () => {
    const files = { ...tree, [PCONF]: JSON.stringify(profiles({ evil: { net: 'all' } })) };
    const config = loadConfig(context(files, {}, { xdgConfigHome: '/xdg' }));
    expect(policyError(() => resolveProfile(config, 'evil')).hint).toBe('put it in /xdg/jail/config.json or pass the flag yourself (--net all).');
  });
});

describe('built-in profiles', () => {
  const ctx = { projectRoot: '/p', home: '/home/u', nodePrefix: NODE, npmCache: '/home/u/.npm' };
  it('every one has a description, and its paths are filled in', () => {
    const b = builtinProfiles(ctx);
    expect([...b.keys()].sort()).toEqual(['claude', 'codex', 'default', 'node', 'none', 'npm-install', 'read-only', 'test']);
    for (const [name, p] of b) {
      expect(p.description, name).toBeTruthy();
      for (const path of [...(p.ro ?? []), ...(p.rw ?? [])]) expect(path, name).toMatch(/^\/[^{}]*$/);
    }
    expect(BUILTIN_PROFILES.node?.ro).toEqual(['{nodePrefix}', '{project}']);
  });

  it('a $ in a path is not a replacement pattern', () => {
    expect(builtinProfiles({ ...ctx, projectRoot: "/p/$&$'" }).get('read-only')?.ro).toEqual(["/p/$&$'"]);
  });

  const config = load();
  const resolved = (name: string) => {
    const o = resolveProfile(config, name).options;
    return { ro: paths(o.ro), rw: paths(o.rw), net: o.net, npmCache: o.npmCache };
  };
  // npm's cache is never a plain read-write grant: --npm-cache, its private layer.
  const table: Array<[string, { ro: string[]; rw: string[]; net?: string; npmCache?: boolean }]> = [
    ['read-only', { ro: [PROJECT], rw: [] }],
    ['node', { ro: [NODE, PROJECT], rw: [], npmCache: true }],
    ['npm-install', { ro: [NODE, PROJECT, '/home/u/.node-gyp?', '/home/u/.cache/node-gyp?'], rw: [PROJECT], net: 'none', npmCache: true }],
    ['test', { ro: [NODE, PROJECT], rw: [`${PROJECT}/coverage?`, `${PROJECT}/node_modules/.vite?`, `${PROJECT}/node_modules/.cache?`], npmCache: true }],
    ['default', { ro: [PROJECT, NODE], rw: [], npmCache: true }],
  ];
  it.each(table)('%s', (name, want) => {
    expect(resolved(name)).toEqual({ net: undefined, npmCache: undefined, ...want });
  });

  it('chains', () => {
    expect(resolveProfile(config, 'default').chain).toEqual(['read-only (built-in)', 'node (built-in)', 'default (built-in)']);
    expect(resolveProfile(config, 'test').chain).toEqual(['node (built-in)', 'test (built-in)']);
  });

  it('never grant $HOME: started in ~ or /, the project built-ins refuse', () => {
    for (const cwd of ['/home/u', '/']) {
      const c = loadConfig(context({}, { cwd }));
      const e = policyError(() => resolveProfile(c, 'default'));
      expect(e.message).toBe(`built-in profile "read-only" would grant ${cwd}, which holds your home directory (the project root is ${cwd}).`);
    }
  });

  it('none of them reaches ~/.ssh, ~/.aws or ~/.npmrc', () => {
    for (const name of ['read-only', 'node', 'npm-install', 'test', 'default']) {
      const { ro, rw } = resolved(name);
      for (const p of [...ro, ...rw]) expect(p === '/home/u' || /^\/home\/u\/\.(ssh|aws|npmrc)/.test(p), `${name}: ${p}`).toBe(false);
    }
  });

  it('build into a policy on the fake machine', () => {
    const policy = buildPolicy({ ...resolveProfile(config, 'test').options, system: false }, config.host, { npmCache: '/home/u/.npm' });
    expect(policy.grants.map((g) => `${g.access} ${g.path}`)).toEqual([`ro ${NODE}`, `ro ${PROJECT}`, `rw ${PROJECT}/node_modules/.cache`, 'ro /home/u/.npm']);
    expect(policy.npmCache?.path).toBe('/home/u/.npm');
    // --rw over the cache is the user's own choice: then plainly writable, no layer.
    const rw = buildPolicy({ ...resolveProfile(config, 'test').options, rw: ['/home/u'], system: false }, config.host, { npmCache: '/home/u/.npm' });
    expect(rw.npmCache).toBeNull();
    expect(rw.grants.map((g) => `${g.access} ${g.path}`)).not.toContain('ro /home/u/.npm');
  });
});

describe('listProfiles', () => {
  it('names, layers, files, descriptions and extends, sorted', () => {
    const config = load(profiles({ node: { description: 'mine' }, ci: { extends: 'test' } }), profiles({ node: {} }));
    const list = listProfiles(config);
    expect(list.map((p) => p.name)).toEqual(['ci', 'claude', 'codex', 'default', 'node', 'none', 'npm-install', 'read-only', 'test']);
    expect(list.find((p) => p.name === 'node')).toEqual({ name: 'node', layers: ['built-in', 'user', 'project'], files: [UCONF, PCONF], description: 'mine', extends: [] });
    expect(list.find((p) => p.name === 'ci')).toEqual({ name: 'ci', layers: ['project'], files: [PCONF], description: '', extends: ['test'] });
    expect(list.find((p) => p.name === 'read-only')?.description).toBe('read the project; write nothing');
  });
});

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
