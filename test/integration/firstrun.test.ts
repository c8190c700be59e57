/** A first run: what a new user types, as the README and --help write it. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, JAIL, NODE, REPO, jail, jailCommand, makeWorld, needs, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('firstrun');
});
afterAll(() => removeWorld(w));

strictJail.describe('the command on PATH', () => {
  needs(IS_ROOT, 'runs as root, to run jail as nobody').it('as nobody, PATH entries nobody cannot search (EACCES, ENOTDIR, ELOOP) are skipped', () => {
    const closed = path.join(w.root, 'closed');
    fs.mkdirSync(path.join(closed, 'bin'), { recursive: true });
    fs.chmodSync(closed, 0o700);
    const loop = path.join(w.root, 'loop');
    fs.symlinkSync(loop, loop);
    const file = path.join(w.proj, 'README.md');
    // setpriv by its path: node's own PATH search stops at the loop.
    const [cmd, argv] = jailCommand(w, ['--ro', '.', '--', 'ls'], { asNobody: true });
    const r = spawnSync(`/usr/bin/${cmd}`, argv, { cwd: w.proj, encoding: 'utf8', env: { ...w.env, PATH: `${closed}/bin:${file}:${loop}:/usr/bin:/bin` } });
    expect([r.status, r.stderr], printed(r)).toEqual([0, '']);
    expect(r.stdout).toContain('README.md');
  });
});

strictJail.describe('a command found outside that cannot start inside', () => {
  it('--no-system: a command of the system still starts (its runtime /usr granted, and the links into it, /lib64 -> usr/lib64, its loader named there)', () => {
    const r = jail(w, ['--no-system', '--ro', '.', '--', 'true']);
    expect([r.status, r.stderr], printed(r)).toEqual([0, '']);
  });
  it('--no-system and a copy of it in the project: its loader is not granted; the message says so, not that it does not exist', () => {
    fs.copyFileSync('/usr/bin/true', path.join(w.proj, 'mytrue'));
    fs.chmodSync(path.join(w.proj, 'mytrue'), 0o755);
    const r = jail(w, ['--no-system', '--ro', '.', '--', './mytrue']);
    expect([126, 127], printed(r)).toContain(r.status);
    if (r.status === 127) {
      expect(r.stderr).toMatch(/^jail: \.\/mytrue: No such file or directory inside the jail: .*loader.*interpreter.*\n {2}hint: .*--no-system/);
      expect(r.stderr.trim().split('\n')).toHaveLength(2);
    } else expect(r.stderr).toBe('jail: ./mytrue: Permission denied (inside the jail)\n');
  });
  it('a name with a line break is shown escaped, on one line', () => {
    const r = jail(w, ['--ro', '.', '--', 'no\nsuch']);
    expect(r.status, printed(r)).toBe(127);
    expect(r.stderr).toBe('jail: no\\x0asuch: command not found\n');
  });
});

describe('a working directory the user cannot read', () => {
  // jail looks for its config upwards from the working directory; run from
  // one nobody cannot search, the look is refused (EACCES): a clear refusal
  // that names the path, not an internal error, and nothing runs.
  needs(IS_ROOT, 'runs as root, to run jail as nobody').it('as nobody: exit 125 with the path and a way out, nothing run', () => {
    const closed = path.join(w.root, 'closed-cwd');
    fs.mkdirSync(closed, { recursive: true });
    fs.chmodSync(closed, 0o700);
    const marker = path.join(w.root, 'ran-from-closed');
    const [cmd, argv] = jailCommand(w, ['--ro', '/usr', '--', 'sh', '-c', `: > ${marker}`], { asNobody: true });
    const r = spawnSync(cmd, argv, { cwd: closed, encoding: 'utf8', env: w.env });
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(new RegExp(`^jail: cannot look at ${closed}/[^:]+: permission denied \\(EACCES\\)\\.\n {2}hint: run jail as a user who can reach it`));
    expect(r.stderr).not.toMatch(/internal error/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('output into a closed pipe', () => {
  // The reader is gone before jail writes: every write meets EPIPE.
  it.each([
    ['--help', ['--help']],
    // --best-effort: printing needs no ABI in particular.
    ['--print-policy', ['--best-effort', '--ro', '.', '--print-policy', '--', 'ls']],
  ])('%s ends quietly', (_, args) => {
    const r = spawnSync('sh', ['-c', `{ sleep 0.3; "$@"; echo "status $?" >&2; } | true`, 'sh', NODE, JAIL, ...args], { cwd: w.proj, env: w.env, encoding: 'utf8' });
    expect(r.stderr).toBe('status 141\n');
  });
});

strictJail.describe('a closed pipe on stderr during a run', () => {
  it("drops jail's messages and keeps the command's status", () => {
    const r = spawnSync('sh', ['-c', `{ sleep 0.3; "$@" 2>&1 >/dev/null; echo "status $?" >&2; } | true`, 'sh', NODE, JAIL, '-v', '--ro', '.', '--', 'sh', '-c', 'exit 3'], { cwd: w.proj, env: w.env, encoding: 'utf8' });
    expect(r.stderr).toBe('status 3\n');
  });
});

describe('parsing', () => {
  const run = (args: string[]) => spawnSync(NODE, [JAIL, ...args], { cwd: w.proj, env: w.env, encoding: 'utf8' });
  it('--rw -- ls does not take -- as the path', () => {
    const r = run(['--rw', '--', 'ls']);
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/^jail: --rw needs a value, but the next word is --, which ends the options\.\n {2}hint: /);
  });
  it('--json without --print-policy is an error', () => {
    const r = run(['--json', '--ro', '.', '--', 'true']);
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/^jail: --json changes only what --print-policy prints/);
  });
  it('--print-policy needs no command, and says what it shows', () => {
    const r = run(['--best-effort', '--ro', '.', '--print-policy']);
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toMatch(/^command: \/.*\/true\n/);
    expect(r.stderr).toMatch(/placeholder command, true/);
    const j = run(['--best-effort', '--ro', '.', '--print-policy', '--json']);
    expect(j.status, printed(j)).toBe(0);
    expect((JSON.parse(j.stdout) as { command: { argv: string[] } }).command.argv).toEqual(['true']);
  });
  it('jail doctr suggests doctor', () => {
    const r = run(['doctr']);
    expect([r.status, r.stderr], printed(r)).toEqual([127, 'jail: doctr: command not found\n  hint: did you mean jail doctor?\n']);
  });
  it('jail-sh --help prints a usage line', () => {
    const r = spawnSync(NODE, [path.join(REPO, 'bin', 'jail-sh.cjs'), '--help'], { cwd: w.proj, env: w.env, encoding: 'utf8' });
    expect([r.status, r.stderr], printed(r)).toEqual([0, '']);
    expect(r.stdout).toMatch(/^Usage: jail-sh -c SCRIPT/);
  });
});

strictJail.describe('output directories', () => {
  it('a missing --rw directory inside the working directory is made, 0755, and -v says so', () => {
    const r = jail(w, ['-v', '--ro', '.', '--rw', './dist/deep', '--', 'sh', '-c', 'echo built > dist/deep/out.txt']);
    expect(r.status, printed(r)).toBe(0);
    expect(r.stderr).toContain('jail: made ./dist/deep (--rw: it did not exist)\n');
    expect(fs.readFileSync(path.join(w.proj, 'dist', 'deep', 'out.txt'), 'utf8')).toBe('built\n');
    expect(fs.statSync(path.join(w.proj, 'dist')).mode & 0o7777).toBe(0o755 & ~process.umask());
  });
  it('a run refused for bad input leaves no directory it made behind', () => {
    const r = jail(w, ['--ro', '.', '--rw', './made-then/refused', '--allow-host', '*.com', '--', 'true']);
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/public suffix/);
    expect(fs.existsSync(path.join(w.proj, 'made-then'))).toBe(false);
  });
  it("--rw './gen?' still skips a missing directory", () => {
    const r = jail(w, ['--ro', '.', '--rw', './gen?', '--', 'true']);
    expect(r.status, printed(r)).toBe(0);
    expect(fs.existsSync(path.join(w.proj, 'gen'))).toBe(false);
  });
  it('is never made through a symlink, nor outside the working directory', () => {
    fs.symlinkSync(w.outside, path.join(w.proj, 'out-link'));
    const r = jail(w, ['--ro', '.', '--rw', './out-link/new', '--', 'true']);
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toMatch(/out-link is a symlink; jail makes a missing --rw directory only through real directories/);
    expect(fs.existsSync(path.join(w.outside, 'new'))).toBe(false);
    const up = jail(w, ['--ro', '.', '--rw', '../made-above', '--', 'true']);
    expect(up.status, printed(up)).toBe(125);
    expect(fs.existsSync(path.join(w.root, 'made-above'))).toBe(false);
  });
  it('--print-policy makes nothing', () => {
    const r = jail(w, ['--ro', '.', '--rw', './not-yet', '--print-policy', '--', 'true']);
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toContain('a run makes it');
    expect(fs.existsSync(path.join(w.proj, 'not-yet'))).toBe(false);
  });
  it("a profile's missing path names the config file", () => {
    const dir = path.join(w.root, 'cfgproj');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'jail.config.json'), JSON.stringify({ profiles: { default: { ro: ['./nosuch'] } } }));
    const r = jail(w, ['--', 'true'], { cwd: dir });
    expect(r.status, printed(r)).toBe(125);
    expect(r.stderr).toContain(`(profile default, ${path.join(dir, 'jail.config.json')})`);
  });
});

strictJail.describe('hints', () => {
  it('a command under $HOME that fails to run what it runs next hints at --toolchains', () => {
    // A pyenv-like shim: granted itself, it runs a file beside it in $HOME.
    const bin = path.join(w.home, '.tool', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.mkdirSync(path.join(w.home, '.tool', 'libexec'));
    fs.writeFileSync(path.join(w.home, '.tool', 'libexec', 'real'), '#!/bin/sh\necho real\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'shim'), `#!/bin/sh\nexec ${path.join(w.home, '.tool', 'libexec', 'real')}\n`, { mode: 0o755 });
    const env = { ...w.env, PATH: `${bin}:${w.env.PATH}` };
    const r = jail(w, ['--ro', '.', '--', 'shim'], { env });
    expect([126, 127], printed(r)).toContain(r.status);
    expect(r.stderr).toContain('lies under $HOME');
    expect(r.stderr).toContain('hint: --toolchains grants the toolchains under $HOME');
    const outside = jail(w, ['--ro', '.', '--', 'sh', '-c', 'exit 127']);
    expect([outside.status, outside.stderr]).toEqual([127, '']);
  });
});

describe('jail doctor', () => {
  it('says whether --log-denials records can be read', () => {
    const r = spawnSync(NODE, [JAIL, 'doctor'], { cwd: w.proj, env: w.env, encoding: 'utf8' });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toMatch(/^--log-denials records: (none|readable|in the kernel log only|unknown)\b/m);
  });
});

strictJail.describe('profiles', () => {
  it('a project profile "test" that extends the built-in "test" works', () => {
    const dir = path.join(w.root, 'testproj');
    fs.mkdirSync(path.join(dir, 'dist'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'jail.config.json'), JSON.stringify({ profiles: { test: { extends: 'test', rw: ['dist'] } } }));
    const r = jail(w, ['-p', 'test', '--', 'sh', '-c', 'echo ok > dist/out'], { cwd: dir });
    expect(r.status, printed(r)).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'dist', 'out'), 'utf8')).toBe('ok\n');
  });
});

strictJail.describe('--print-policy', () => {
  needs(IS_ROOT, "runs as root, where /etc is granted entry by entry").it("as root, /etc's rules are one line unless -v", () => {
    const r = jail(w, ['--ro', '.', '--print-policy', '--', 'true']);
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toMatch(/^ {2}ro {3}\/etc\/…: \d+ rules, one per entry others may read {2}system base \(\/etc\); root-only files left out: \d+; -v lists them$/m);
    expect(r.stdout).not.toMatch(/^ {2}ro {3}\/etc\/passwd /m);
    const v = jail(w, ['-v', '--ro', '.', '--print-policy', '--', 'true']);
    expect(v.stdout).toMatch(/^ {2}ro {3}\/etc\/passwd /m);
    expect(v.stdout).not.toContain('/etc/…');
  });
  it("shows the environment filter's result, names only", () => {
    const r = jail(w, ['--ro', '.', '--print-policy', '--', 'true'], { env: { ...w.env, GITHUB_TOKEN: 'ghp_' + 'a1'.repeat(20), HARMLESS: 'value-shown-nowhere' } });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toMatch(/^environment \(names only\): passed \d+: .*\bHARMLESS\b/m);
    expect(r.stdout).toMatch(/^ {2}left out 1: GITHUB_TOKEN$/m);
    expect(r.stdout).not.toContain('value-shown-nowhere');
    expect(r.stdout).not.toContain('a1a1a1');
  });
});

// The inner jail's launcher finds node on PATH: it must be in the system base.
const systemNode = ['/usr/local/bin/node', '/usr/bin/node'].some((n) => fs.existsSync(n));
strictJail.describe('jail inside the jail', () => {
  needs(systemNode, 'node under /usr on PATH, for the inner jail').it('after a folder install (node_modules/jail links outside the project), a script can run jail', () => {
    const dir = path.join(w.root, 'nested');
    fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'package.json'), '{}');
    fs.symlinkSync(REPO, path.join(dir, 'node_modules', 'jail'));
    fs.symlinkSync('../jail/bin/jail.cjs', path.join(dir, 'node_modules', '.bin', 'jail'));
    const r = jail(w, ['--ro', '.', '--', 'node_modules/.bin/jail', '--ro', '.', '--', 'echo', 'inner'], { cwd: dir });
    expect([r.status, r.stdout], printed(r)).toEqual([0, 'inner\n']);
  });
});
