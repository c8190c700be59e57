/**
 * The jailed program behaves as if run directly: exit codes, signals, stdio,
 * pipes. And what it inherits is only what a shell would give it.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run as run_ } from '../../src/api.js';
import { JAIL, NODE, jail, makeWorld, outsideProcess, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('proc');
});
afterAll(() => removeWorld(w));

// With a private TMPDIR (the default) and without (once the fallback's
// exec in place; a supervisor now, as always).
describe.each([
  ['supervised', [] as string[]],
  ['--no-private-tmp', ['--no-private-tmp']],
])('%s', (_mode, M) => {

describe('exit status', () => {
  strictJail.it('is the command’s own: 0 and 3', () => {
    expect(jail(w, [...M, '--ro', '.', '--', 'true']).status).toBe(0);
    expect(jail(w, [...M, '--ro', '.', '--', 'sh', '-c', 'exit 3']).status).toBe(3);
  });
  it('is 125 for the jail’s own failures, and nothing runs', () => {
    const marker = path.join(w.proj, 'ran-125');
    for (const args of [
      ['--no-such-flag', '--', 'touch', marker],
      ['--ro', 'missing-dir', '--', 'touch', marker],
      ['--net', 'some', '--', 'touch', marker],
      ['--allow-connect', 'http', '--', 'touch', marker],
      [],
    ]) {
      const r = jail(w, [...M, '--rw', '.', ...args]);
      expect(r.status, args.join(' ')).toBe(125);
      expect(r.stderr).toMatch(/^jail: /);
      expect(fs.existsSync(marker)).toBe(false);
    }
  });
  it('is 126 for a command that cannot be executed, 127 for one not found', () => {
    fs.writeFileSync(path.join(w.proj, 'not-exec.sh'), '#!/bin/sh\necho hi\n', { mode: 0o644 });
    const r126 = jail(w, [...M, '--ro', '.', '--', './not-exec.sh']);
    expect([r126.status, r126.stderr]).toEqual([126, 'jail: ./not-exec.sh: Permission denied\n']);
    const r127 = jail(w, [...M, '--ro', '.', '--', 'no-such-command-x']);
    expect([r127.status, r127.stderr]).toEqual([127, 'jail: no-such-command-x: command not found\n']);
  });
  strictJail.it('shows a command killed by SIGTERM as killed by SIGTERM', () => {
    const r = jail(w, [...M, '--ro', '.', '--', 'sh', '-c', 'kill -TERM $$; sleep 5']);
    expect(r.signal).toBe('SIGTERM');
  });
});

strictJail.describe('stdio and signals as a shell gives them', () => {
  it('passes piped stdin through, and sh -c prints', () => {
    expect(jail(w, [...M, '--ro', '.', '--', 'cat'], { input: 'piped in\n' }).stdout).toBe('piped in\n');
    expect(jail(w, [...M, '--ro', '.', '--', 'sh', '-c', 'echo hi']).stdout).toBe('hi\n');
  });
  it('yes | jail … -- head -1 ends at once (SIGPIPE is not ignored)', () => {
    const t0 = Date.now();
    const r = spawnSync('sh', ['-c', `yes | ${NODE} ${JAIL} ${M.join(' ')} --ro . -- head -1; echo "status=$?"`], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 10_000 });
    expect(r.stdout).toBe('y\nstatus=0\n');
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
  it('gives the program default signal dispositions and an empty mask', () => {
    const r = jail(w, [...M, '--ro', '.', '--', 'sh', '-c', 'grep -E "^Sig(Ign|Blk)" /proc/self/status']);
    expect(r.stdout).toMatch(/SigBlk:\s+0+\n/);
    expect(r.stdout).toMatch(/SigIgn:\s+0+\n/);
  });
  it('leaves stdin, stdout and stderr open and blocking', () => {
    const r = jail(w, [...M, '--ro', '.', '--', 'sh', '-c', 'for fd in 0 1 2; do grep flags /proc/self/fdinfo/$fd; done'], { input: '' });
    const flags = r.stdout.trim().split('\n').map((l) => parseInt(l.split(/\s+/)[1]!, 8));
    expect(flags).toHaveLength(3);
    for (const f of flags) {
      expect(f & 0o4000).toBe(0); // O_NONBLOCK
      expect(f & 0o2000000).toBe(0); // O_CLOEXEC
    }
  });
});

strictJail.describe('inherited descriptors', () => {
  it('a secret open on fd 9 does not reach the program, unless --keep-fd 9', () => {
    const secretFile = path.join(w.home, '.ssh', 'id_ed25519');
    const run = (extra: string[]) => {
      const fd = fs.openSync(secretFile, 'r');
      try {
        return spawnSync(NODE, [JAIL, ...M, ...extra, '--ro', '.', '--', 'sh', '-c', 'cat <&9; cat /proc/self/fd/9; ls /proc/self/fd'], {
          cwd: w.proj, env: w.env, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', 'ignore', fd],
        });
      } finally {
        fs.closeSync(fd);
      }
    };
    const denied = run([]);
    expect(printed(denied)).not.toContain(w.secrets.ssh);
    // The only fds: 0-2 and the one ls itself opens to read the directory.
    expect(denied.stdout.trim().split('\n').sort()).toEqual(['0', '1', '2', '3']);
    const kept = run(['--keep-fd', '9']);
    expect(printed(kept)).toContain(w.secrets.ssh);
  });
  it('--keep-fd of a descriptor that is not open is refused (125), and nothing runs; the library says so too', async () => {
    const marker = path.join(w.outside, 'keep-fd-ran');
    // 1009: not given, and not one of node's own (a low number may be)
    const r = spawnSync(NODE, [JAIL, ...M, '--keep-fd', '1009', '--ro', '.', '--rw', w.outside, '--', 'touch', marker], { cwd: w.proj, env: w.env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('jail: --keep-fd 1009: file descriptor 1009 is not open here, so there is nothing to pass on.\n  hint: open it where jail is started (in a shell: 1009<FILE), or drop --keep-fd 1009.\n');
    expect(fs.existsSync(marker)).toBe(false);
    // the library, in this process (fd 1009 is not open here)
    const lib = await run_({ ro: ['.'], rw: [w.outside], keepFd: [1009] }, 'touch', [marker], { cwd: w.proj, env: w.env });
    expect(lib.status).toBe(125);
    expect(lib.stderr).toContain('--keep-fd 1009: file descriptor 1009 is not open here');
    expect(fs.existsSync(marker)).toBe(false);
  });
});

strictJail.describe('processes outside', () => {
  it('survive kill from inside the jail', () => {
    const outside = outsideProcess('setpriv', ['--inh-caps=-all', '--bounding-set=-all', 'sleep', '30']);
    try {
      const r = jail(w, [...M, '--ro', '.', '--', 'sh', '-c', `kill -KILL ${outside.pid}`]);
      expect(r.status).not.toBe(0);
      expect(fs.existsSync(`/proc/${outside.pid}`)).toBe(true);
      expect(outside.alive()).toBe(true);
    } finally {
      outside.stop();
    }
  });
  it('processes started inside can be signalled from inside', () => {
    const r = jail(w, [...M, '--ro', '.', '--', 'sh', '-c', 'sleep 30 & kill $!; wait $!; echo "status=$?"']);
    expect(r.stdout).toBe('status=143\n');
  });
});

strictJail.describe('a real interactive shape', () => {
  it('node runs inside and child_process works', () => {
    const r = jail(w, [...M, '--ro', '.', '--', 'node', '-e', 'const c=require("child_process");process.stdout.write(c.execFileSync("echo",["from child"]))']);
    expect([r.status, r.stdout]).toEqual([0, 'from child\n']);
  });
  it('a long-running command can be interrupted like the bare command', async () => {
    const child = spawn(NODE, [JAIL, ...M, '--ro', '.', '--', 'sleep', '30'], { cwd: w.proj, env: w.env, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
    expect([code, signal]).toEqual([null, 'SIGINT']);
  });
});
});
