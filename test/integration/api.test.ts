/** The library API: spawn() behaves as child_process.spawn does. */
import { spawn as cpSpawn } from 'node:child_process';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, spawn } from '../../src/api.js';
import { makeWorld, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('api');
});
afterAll(() => removeWorld(w));

function collect(child: ReturnType<typeof cpSpawn>) {
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise<{ out: string; code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ out, code, signal })));
}

strictJail.describe('spawn()', () => {
  it('with piped stdio matches child_process.spawn for the same command', async () => {
    const argv = ['-c', 'read line; echo "got $line"; echo err >&2; exit 7'];
    const opts = { cwd: w.proj, env: w.env, stdio: 'pipe' as const };
    const plain = cpSpawn('sh', argv, opts);
    const jailed = spawn({ ro: ['.'] }, 'sh', argv, opts);
    plain.stdin!.end('hello\n');
    jailed.stdin!.end('hello\n');
    const [a, b] = await Promise.all([collect(plain), collect(jailed)]);
    expect(b).toEqual(a);
    expect(b).toEqual({ out: 'got hello\n', code: 7, signal: null });
  });
  it('kill() ends the jailed command, seen as killed by that signal', async () => {
    const child = spawn({ ro: ['.'] }, 'sleep', ['30'], { cwd: w.proj, env: w.env, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGTERM');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    expect([code, signal]).toEqual([null, 'SIGTERM']);
  });
});

describe('run()', () => {
  strictJail.it('resolves with status, signal, stdout and stderr, and the jail holds', async () => {
    const r = await run({ ro: ['.'] }, 'sh', ['-c', `cat README.md; cat ${path.join(w.home, '.ssh/id_ed25519')}`], { cwd: w.proj, env: w.env });
    expect(r.status).toBe(1);
    expect(r.signal).toBeNull();
    expect(r.stdout).toBe('project readme\n');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.stdout + r.stderr).not.toContain(w.secrets.ssh);
  });
  it('reports the jail’s own failure as status 125', async () => {
    const r = await run({ ro: ['./missing'] }, 'true', [], { cwd: w.proj, env: w.env });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/--ro \.\/missing: no such file or directory/);
  });
});
