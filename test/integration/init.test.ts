/**
 * The jail's init (PID 1 in the namespace layer, the command's parent in the
 * library's fallback) holds nothing of the caller's. It is a vfork of the
 * caller that execs a small helper from a memfd (native/init.c), or, where
 * that helper cannot run, a fork of the caller (JAIL_TEST_FORK_INIT=1 forces
 * that here, so both stay tested). A library caller keeps a secret in its
 * environment (a name the policy filters) and its heap
 * (fixtures/init-secret.cjs); the jailed command, root with no capabilities,
 * reads all it can of PID 1, its parent and every process it sees
 * (fixtures/init-secret-attack.py). Judged from outside: what the command
 * printed, and /proc/<init> read by the caller.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, LAYER, makeWorld, NODE, REPO, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('init');
});
afterAll(() => removeWorld(w));

interface Seen {
  status: number;
  leaked: boolean;
  looked: string[];
  pid1: string[];
  init: { environ: string; cmdline: string; secretInMemory: boolean | string };
  self: boolean | string;
}

function attack(layer: 'auto' | 'off', init: 'helper' | 'fork', secret: string): Seen {
  const fixture = path.join(__dirname, 'fixtures', 'init-secret.cjs');
  const attacker = path.join(__dirname, 'fixtures', 'init-secret-attack.py');
  const env = { ...w.env, INIT_SECRET_TOKEN: secret, JAIL_NAMESPACES: layer, ...(init === 'fork' ? { JAIL_TEST_FORK_INIT: '1' } : {}) };
  const r = spawnSync(NODE, [fixture, path.join(REPO, 'dist', 'index.js'), attacker], { cwd: w.proj, env, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Seen;
}

const layers: Array<'auto' | 'off'> = LAYER === 'namespaces' ? ['auto', 'off'] : ['off'];
const cases = layers.flatMap((l) => (['helper', 'fork'] as const).map((i) => [l === 'auto' ? 'namespace' : 'Landlock-only', l, i] as const));

strictJail.describe.each(cases)('the init (%s layer, %s): the caller secrets', (_, layer, init) => {
  strictJail.it(`are out of the command's reach (${init})`, { timeout: 60_000 }, () => {
    const secret = `CALLER-SECRET-${process.pid}-${Math.random().toString(36).slice(2)}`;
    const r = attack(layer, init, secret);
    expect(r.status).toBe(0); // 3: the command's environment had it
    expect(r.looked).toEqual([expect.stringMatching(/^looked at \d+ processes, 1 and \d+ among them$/)]);
    expect(r.leaked).toBe(false);
    if (IS_ROOT) expect(r.self).toBe(true); // the outside look finds it where it is
    if (init === 'helper') {
      // nothing of the caller's is left in the init: the helper's argv, no environment
      if (IS_ROOT) expect(r.init.secretInMemory).toBe(false);
      expect(r.init.environ).toBe('');
      expect(r.init.cmdline).toMatch(new RegExp(`^jail-init\\x00\\d+\\x00\\d+\\x00${layer === 'auto' ? 1 : 0}\\x00$`));
    } else if (IS_ROOT) {
      expect(r.init.secretInMemory).toBe(true); // the control: a fork holds the caller's memory
    }
  });
});

strictJail.describe.each(cases)('the init (%s layer, %s)', (_, layer, init) => {
  strictJail.it('passes on exit statuses and signals, and ends what the command left running', { timeout: 60_000 }, () => {
    const script = `
      const { run, spawn } = require(${JSON.stringify(path.join(REPO, 'dist', 'index.js'))});
      (async () => {
        const a = await run({ ro: ['/'] }, '/bin/sh', ['-c', 'exit 7']);
        const b = await run({ ro: ['/'] }, '/bin/sh', ['-c', 'kill -TERM $$']);
        const c = spawn({ ro: ['/'] }, '/bin/sh', ['-c', 'echo up; exec sleep 100'], { stdio: ['ignore', 'pipe', 'inherit'] });
        c.stdout.once('data', () => c.kill('SIGUSR1'));
        const cs = await new Promise((r) => c.on('exit', (code, sig) => r([code, sig])));
        const d = await run({ ro: ['/'] }, '/bin/sh', ['-c', 'setsid sleep 100 & echo $!']);
        let left = true;
        try { process.kill(0 + Number(d.stdout.trim()), 0); } catch { left = false; }
        console.log(JSON.stringify([a.status, b.signal, cs, d.status, left]));
      })();`;
    const env = { ...w.env, JAIL_NAMESPACES: layer, ...(init === 'fork' ? { JAIL_TEST_FORK_INIT: '1' } : {}) };
    const r = spawnSync(NODE, ['-e', script], { cwd: w.proj, env, encoding: 'utf8', timeout: 50_000 });
    expect(r.stderr).toBe('');
    // (in the namespace layer the leftover's pid is the jail's; it is gone with the PID namespace)
    const [a, b, cs, d, left] = JSON.parse(r.stdout) as [number, string, [number | null, string | null], number, boolean];
    expect([a, b, cs, d]).toEqual([7, 'SIGTERM', [null, 'SIGUSR1'], 0]);
    if (layer === 'off') expect(left).toBe(false);
  });
});

strictJail.describe.each(layers.map((l) => [l === 'auto' ? 'namespace' : 'Landlock-only', l] as const))('the init (%s layer)', (_, layer) => {
  strictJail.it('fails closed when the helper cannot be exec\'d: 125, a message, and the command never ran', { timeout: 30_000 }, () => {
    const marker = path.join(w.proj, `ran-${layer}`);
    const script = `
      const { run } = require(${JSON.stringify(path.join(REPO, 'dist', 'index.js'))});
      run({ ro: ['/'], rw: [${JSON.stringify(w.proj)}] }, '/bin/sh', ['-c', 'sleep 0.2; touch ${marker}']).then((r) => console.log(JSON.stringify([r.status, r.stderr])));`;
    const env = { ...w.env, JAIL_NAMESPACES: layer, JAIL_TEST_INIT_EXEC_FAILS: '1' };
    const r = spawnSync(NODE, ['-e', script], { cwd: w.proj, env, encoding: 'utf8', timeout: 20_000 });
    const [status, stderr] = JSON.parse(r.stdout) as [number, string];
    expect(status).toBe(125);
    expect(stderr + r.stderr).toMatch(/execveat/);
    spawnSync('sleep', ['0.4']);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
