/** The library API: spawn() behaves as child_process.spawn does. */
import { spawn as cpSpawn } from 'node:child_process';
import * as fs from 'node:fs';
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
    expect(r.stderr).toMatch(/Permission denied|No such file/);
    expect(r.stdout + r.stderr).not.toContain(w.secrets.ssh);
  });
  it('reports the jail’s own failure as status 125', async () => {
    const r = await run({ ro: ['./missing'] }, 'true', [], { cwd: w.proj, env: w.env });
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/--ro \.\/missing: no such file or directory/);
  });
});

strictJail.describe('options that would run code outside the jail, or widen it (issue 8 F)', () => {
  it('F1: shell: true is refused; the part after && never runs unjailed', async () => {
    const marker = path.join(w.outside, 'f1-ran');
    const attack = run({ ro: ['.'] }, `true && cat ${w.home}/.ssh/id_ed25519 && touch ${marker}`, [], { cwd: w.proj, env: w.env, shell: true });
    await expect(attack).rejects.toThrow(/spawn option "shell" is not supported/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(() => spawn({ ro: ['.'] }, 'true', [], { argv0: 'x' })).toThrow(/"argv0" is not supported/);
  });
  it('F1: NODE_OPTIONS in the env loads no code into the supervisor', async () => {
    const marker = path.join(w.outside, 'f1-required');
    const evil = path.join(w.root, 'f1-evil.js');
    fs.writeFileSync(evil, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'pwned');\n`);
    const r = await run({ ro: ['.'] }, 'true', [], { cwd: w.proj, env: { ...w.env, NODE_OPTIONS: `--require ${evil}` } });
    expect(r.status).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
  });
  it('F2: a value is never read as a flag', async () => {
    const target = path.join(w.outside, 'f2');
    const r = await run({ allowUnix: ['--rw=/'], ro: ['--rw=/'] }, 'sh', ['-c', `echo planted > ${target}`], { cwd: w.proj, env: w.env });
    expect(r.status).toBe(125);
    expect(fs.existsSync(target)).toBe(false);
    await expect(run({ rw: '/' } as never, 'true')).rejects.toThrow(/option "rw" must be an array of paths/);
    await expect(run({ scope: false } as never, 'true')).rejects.toThrow(/unknown option "scope"/);
  });
  it('F3: an empty policy grants nothing beyond the system base: not the project, not ~/.npm', async () => {
    fs.mkdirSync(path.join(w.home, '.npm'), { recursive: true });
    const r = await run({ ro: [] }, 'sh', ['-c', `cat README.md; echo x > ${w.home}/.npm/f3`], { cwd: w.proj, env: w.env });
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toContain('project readme');
    expect(fs.existsSync(path.join(w.home, '.npm', 'f3'))).toBe(false);
    // The control: naming the profile gives what it grants.
    const d = await run({ profile: 'default' }, 'cat', ['README.md'], { cwd: w.proj, env: w.env });
    expect([d.status, d.stdout]).toEqual([0, 'project readme\n']);
  });
});
