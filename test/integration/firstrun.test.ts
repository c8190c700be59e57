/** A first run: what a new user types, as the README and --help write it. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, JAIL, NODE, jailCommand, makeWorld, needs, printed, removeWorld, strictJail, type World } from './harness.js';

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

describe('output into a closed pipe', () => {
  // The reader is gone before jail writes: every write meets EPIPE.
  it.each([
    ['--help', ['--help']],
    ['--print-policy', ['--ro', '.', '--print-policy', '--', 'ls']],
  ])('%s ends quietly', (_, args) => {
    const r = spawnSync('sh', ['-c', `{ sleep 0.3; "$@"; echo "status $?" >&2; } | true`, 'sh', NODE, JAIL, ...args], { cwd: w.proj, env: w.env, encoding: 'utf8' });
    expect(r.stderr).toBe('status 141\n');
  });
});
