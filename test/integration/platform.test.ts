/** Off Linux (simulated): exit 125 with a reason, or unconfined under --best-effort. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JAIL, NODE, makeWorld, removeWorld, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('platform');
});
afterAll(() => removeWorld(w));

const asDarwin = (args: string[]) =>
  spawnSync(NODE, ['-r', path.join(__dirname, 'fixtures', 'pretend-darwin.cjs'), JAIL, ...args], { cwd: w.proj, env: w.env, encoding: 'utf8' });

describe('off Linux', () => {
  it('refuses with exit 125, saying why and what to do, and runs nothing', () => {
    const marker = path.join(w.proj, 'ran-darwin');
    const r = asDarwin(['--rw', '.', '--', 'touch', marker]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(
      'jail: cannot confine anything on darwin: jail needs Linux with Landlock and seccomp.\n' +
        '  hint: run it on Linux 5.13 or later, or pass --best-effort to run the command unconfined.\n',
    );
    expect(fs.existsSync(marker)).toBe(false);
  });
  it('with --best-effort runs the command unconfined, warning loudly, and passes its status on', () => {
    const r = asDarwin(['--best-effort', '--ro', '.', '--', 'sh', '-c', `cat ${w.home}/.ssh/id_ed25519; exit 4`]);
    expect(r.status).toBe(4);
    expect(r.stdout).toContain(w.secrets.ssh); // unconfined indeed: the warning is the truth
    expect(r.stderr).toMatch(/WARNING: --best-effort: running sh UNCONFINED/);
  });
  it('with --best-effort passes a signal on', () => {
    const r = asDarwin(['--best-effort', '--', 'sh', '-c', 'kill -TERM $$']);
    expect(r.signal).toBe('SIGTERM');
  });
});
