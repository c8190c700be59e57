import { describe, expect, it } from 'vitest';
import { buildPolicy, parsePorts, parseFd } from '../../../src/policy/build.js';
import { findCommand, resolveCommand, runtimePrefix, withCommand } from '../../../src/policy/command.js';
import { systemBase } from '../../../src/policy/base.js';
import { absolute } from '../../../src/policy/paths.js';
import { CommandError, PolicyError } from '../../../src/errors.js';
import { fakeHost } from '../fakehost.js';

const tree = {
  '/usr/bin/cat': { file: '\x7fELF', x: true },
  '/usr/bin/env': { file: '\x7fELF', x: true },
  '/usr/bin/notexec': { file: 'data' },
  '/usr/lib/x.so': 'lib',
  '/bin': { link: 'usr/bin' },
  '/lib': { link: 'usr/lib' },
  '/etc/passwd': 'root:x:0:0',
  '/etc/shadow': { file: 'secret', mode: 0o640 },
  '/etc/ssh/ssh_config': 'x',
  '/etc/ssh/ssh_host_ed25519_key': { file: 'KEY', mode: 0o600 },
  '/etc/ssl/certs/ca.pem': 'x',
  '/etc/resolv.conf': { link: '/run/resolv/stub.conf' },
  '/run/resolv/stub.conf': 'nameserver 127.0.0.53',
  '/proc/self': { dir: true as const },
  '/dev/null': 'dev',
  '/dev/tty': 'dev',
  '/dev/pts': { dir: true as const },
  '/work/proj/src/a.ts': 'x',
  '/work/proj/link': { link: '/work/proj/src' },
  '/home/u/.ssh/id_rsa': 'KEY',
  '/home/u/.nvm/versions/node/v20/bin/node': { file: '\x7fELF', x: true },
  '/home/u/.nvm/versions/node/v20/lib/node_modules/npm/bin/npx-cli.js': { file: '#!/usr/bin/env node\n', x: true },
  '/home/u/.nvm/versions/node/v20/bin/npx': { link: '../lib/node_modules/npm/bin/npx-cli.js' },
  '/home/u/.cargo/bin/rg': { file: '\x7fELF', x: true },
  '/home/u/.cargo/credentials.toml': 'token',
  '/home/u/.local/bin/tool': { file: '\x7fELF', x: true },
  '/home/u/.local/lib/python3/x': 'x',
  '/home/u/.local/share/keyrings/login.keyring': 'secret',
  '/work/proj/run.sh': { file: '#!/bin/sh -e\necho hi\n', x: true },
  '/usr/bin/sh': { file: '\x7fELF', x: true },
};

describe('paths', () => {
  const host = fakeHost(tree);
  it('are relative to the working directory and expand ~', () => {
    expect(absolute('src', host)).toBe('/work/proj/src');
    expect(absolute('./src/../src/', host)).toBe('/work/proj/src');
    expect(absolute('~', host)).toBe('/home/u');
    expect(absolute('~/.ssh', host)).toBe('/home/u/.ssh');
    expect(absolute('/etc//passwd', host)).toBe('/etc/passwd');
  });
  it('resolve symlinks: the grant names the target', () => {
    const p = buildPolicy({ ro: ['link'], system: false }, host);
    expect(p.grants).toEqual([{ path: '/work/proj/src', access: 'ro', isDir: true, source: { kind: 'flag', flag: '--ro', given: 'link' } }]);
  });
  it('tell files from directories', () => {
    const p = buildPolicy({ rw: ['src/a.ts', 'src'], system: false }, host);
    expect(p.grants.map((g) => [g.path, g.isDir])).toEqual([
      ['/work/proj/src/a.ts', false],
      ['/work/proj/src', true],
    ]);
  });
  it('refuse a missing path, naming the flag and the path', () => {
    expect(() => buildPolicy({ rw: ['nope'] }, host)).toThrowError(PolicyError);
    expect(() => buildPolicy({ rw: ['nope'] }, host)).toThrowError('--rw nope: no such file or directory (/work/proj/nope).');
  });
  it('skip a missing path marked optional with ?', () => {
    const p = buildPolicy({ ro: ['nope?', 'src?'], system: false }, host);
    expect(p.grants.map((g) => g.path)).toEqual(['/work/proj/src']);
  });
});

describe('the system base', () => {
  it('holds /usr, /etc, /proc and the devices, and nothing under $HOME', () => {
    const grants = systemBase(fakeHost(tree));
    const paths = grants.map((g) => `${g.access} ${g.path}`);
    expect(paths).toContain('ro /usr');
    expect(paths).toContain('ro /usr/bin'); // /bin → usr/bin
    expect(paths).toContain('ro /proc');
    expect(paths).toContain('ro /etc');
    expect(paths).toContain('dev /dev/null');
    expect(paths).not.toContain('dev /dev/pts'); // the user's other terminals
    expect(paths.filter((p) => p.includes('/dev/pts'))).toEqual([]);
    expect(paths).toContain('ro /run/resolv/stub.conf'); // /etc/resolv.conf's target
    expect(grants.some((g) => g.path.startsWith('/home'))).toBe(false);
  });
  it('grants the terminals the command was given, and no other (issue 8 D1)', () => {
    const grants = systemBase(fakeHost({ ...tree, '/dev/pts/3': 'tty', '/dev/pts/4': 'tty' }, { ttys: ['/dev/pts/3'] }));
    expect(grants.filter((g) => g.path.startsWith('/dev/pts')).map((g) => `${g.access} ${g.path}`)).toEqual(['dev /dev/pts/3']);
  });
  it('for root, leaves out every /etc entry others cannot read', () => {
    const grants = systemBase(fakeHost(tree, { uid: 0 }));
    const etc = grants.filter((g) => g.path.startsWith('/etc')).map((g) => `${g.access} ${g.path}`);
    expect(etc).toEqual(['list /etc', 'ro /etc/passwd', 'ro /etc/ssh/ssh_config', 'ro /etc/ssl']);
  });
});

describe('the command', () => {
  const host = fakeHost(tree, { path: '/home/u/.nvm/versions/node/v20/bin:/usr/bin' });
  it('is looked up on PATH like execvp', () => {
    expect(findCommand('cat', host)).toBe('/usr/bin/cat');
    expect(findCommand('./run.sh', host)).toBe('/work/proj/run.sh');
  });
  it('not found is 127, not executable is 126', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return [(e as CommandError).exitCode, (e as Error).message];
      }
    };
    expect(err(() => findCommand('nosuch', host))).toEqual([127, 'jail: nosuch: command not found']);
    expect(err(() => findCommand('notexec', host))).toEqual([126, 'jail: notexec: Permission denied']);
    expect(err(() => findCommand('./nosuch', host))).toEqual([127, 'jail: ./nosuch: No such file or directory']);
    expect(err(() => findCommand('/usr/bin', host))).toEqual([126, 'jail: /usr/bin: Is a directory']);
  });
  it('skips PATH entries it cannot search (EACCES, ENOTDIR, ELOOP), as sh does', () => {
    const thrower = (code: string) => Object.assign(new Error(code), { code });
    const base = fakeHost(tree);
    const blocked = fakeHost(tree, {
      path: '/root/.cargo/bin:/etc/passwd:/loop:/usr/bin',
      stat: (p, l) => {
        if (p.startsWith('/root/')) throw thrower('EACCES');
        if (p.startsWith('/etc/passwd/')) throw thrower('ENOTDIR');
        if (p.startsWith('/loop/')) throw thrower('ELOOP');
        return base.stat(p, l);
      },
    });
    expect(findCommand('cat', blocked)).toBe('/usr/bin/cat');
    expect(() => findCommand('nosuch', blocked)).toThrow('jail: nosuch: command not found');
  });
  it('brings its interpreter chain: npx → npx-cli.js → node, with node’s prefix only', () => {
    const cmd = resolveCommand('npx', host);
    expect(cmd.file).toBe('/home/u/.nvm/versions/node/v20/bin/npx');
    expect(cmd.chain).toEqual([
      '/home/u/.nvm/versions/node/v20/lib/node_modules/npm/bin/npx-cli.js',
      '/home/u/.nvm/versions/node/v20/bin/node',
    ]);
    const p = withCommand(buildPolicy({ system: false }, host), cmd, host);
    expect(p.grants.map((g) => `${g.access} ${g.path}`)).toEqual([
      'ro /home/u/.nvm/versions/node/v20/lib/node_modules/npm/bin/npx-cli.js',
      'ro /home/u/.nvm/versions/node/v20/bin/node',
      'ro /home/u/.nvm/versions/node/v20',
    ]);
  });
  it('reads #!/bin/sh -e', () => {
    expect(resolveCommand('./run.sh', host).chain).toEqual(['/work/proj/run.sh', '/usr/bin/sh']);
  });
  it('never gets $HOME or a bin/ straight under it as a runtime prefix', () => {
    expect(runtimePrefix('/home/u/.cargo/bin/rg', host)).toBeNull(); // no lib/: credentials.toml stays out
    expect(runtimePrefix('/home/u/bin/x', host)).toBeNull();
    expect(runtimePrefix('/home/u/.local/bin/tool', host)).toBeNull(); // ~/.local/share holds keyrings
    expect(runtimePrefix('/usr/bin/cat', host)).toBe('/usr');
  });
});

describe('flag values', () => {
  it('ports and ranges', () => {
    expect(parsePorts('--allow-connect', '443')).toEqual({ from: 443, to: 443 });
    expect(parsePorts('--allow-bind', '8000-8100')).toEqual({ from: 8000, to: 8100 });
    expect(() => parsePorts('--allow-connect', '0')).toThrowError('--allow-connect 0: not a TCP port or port range.');
    expect(() => parsePorts('--allow-connect', '70000')).toThrow(PolicyError);
    expect(() => parsePorts('--allow-connect', '9-1')).toThrow(PolicyError);
    expect(() => parsePorts('--allow-connect', 'http')).toThrow(PolicyError);
  });
  it('fds', () => {
    expect(parseFd('9')).toBe(9);
    expect(() => parseFd('1')).toThrow(PolicyError);
    expect(() => parseFd('x')).toThrow(PolicyError);
  });
});
