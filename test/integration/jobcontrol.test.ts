/**
 * Job control at an interactive shell, as with the bare command: when the
 * command stops (SIGSTOP it sent itself, SIGTSTP it handled after tidying the
 * terminal, SIGTTIN from a read in the background), the jail stops with the
 * same signal, so the shell takes the terminal back and says so; fg
 * continues both (the namespace layer; the fallback's jail stops with its
 * command at Ctrl-Z and SIGTTIN only, as the terminal stops the whole
 * process group). Judged from outside: what an interactive bash on a
 * pseudo-terminal (fixtures/pty-shell.py) showed.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inNamespaces, IS_ROOT, jailCommand, makeWorld, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('jobs');
  // A full-screen program's Ctrl-Z: tidy the terminal, then stop as it
  // would have (vim, less and Node's readline do this).
  fs.writeFileSync(
    path.join(w.proj, 'tstp.py'),
    `import os, signal, sys, time
def tstp(s, f):
    time.sleep(0.3)
    print('tidied', flush=True)
    signal.signal(signal.SIGTSTP, signal.SIG_DFL)
    os.kill(0, signal.SIGTSTP)
    signal.signal(signal.SIGTSTP, tstp)
    print('back', flush=True)
signal.signal(signal.SIGTSTP, tstp)
print('ready', flush=True)
print('read', sys.stdin.readline().strip(), flush=True)
`,
  );
});
afterAll(() => removeWorld(w));

type Step = ['send', string] | ['wait', string, number] | ['sleep', number];

function shell(steps: Step[]): string {
  const r = spawnSync('python3', [path.join(__dirname, 'fixtures', 'pty-shell.py'), JSON.stringify([['wait', 'PROMPT', 10], ...steps])], {
    cwd: w.proj,
    env: w.env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.stderr).toBe('');
  return r.stdout;
}

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];

strictJail.describe.each(users)('job control at an interactive shell, as %s', (_, asNobody) => {
  const jail = (args: string) => {
    const [cmd, argv] = jailCommand(w, [], { asNobody });
    return `${[cmd, ...argv].join(' ')} ${args}`;
  };

  // Followed in the namespace layer only: the fallback's jail is the
  // command's parent, and a stopped parent is not told when another
  // continues its child; it stops at Ctrl-Z with the command instead.
  const followed = inNamespaces('the init reports the command\'s stops and continues; the fallback does not follow them');

  followed.it('a command that stops itself stops the jail: the shell has the terminal, fg continues it', { timeout: 60_000 }, () => {
    const out = shell([
      ['send', `${jail(`--ro . -- sh -c 'echo in; kill -STOP $$; echo resumed'`)}\n`],
      ['wait', 'Stopped', 10],
      ['send', 'echo shell-has-it\n'],
      ['wait', 'shell-has-it\\s+PROMPT', 5],
      ['send', 'fg\n'],
      ['wait', 'resumed', 10],
      ['send', 'echo rc=$?\n'],
      ['wait', 'rc=\\d+', 5],
    ]);
    expect(out).not.toContain('TIMEOUT');
    expect(out).toMatch(/Stopped[^\n]*jail[^]*\nshell-has-it\n[^]*resumed\n[^]*rc=0\n/);
  });

  followed.it('Ctrl-Z at a program that handles SIGTSTP: the shell takes the terminal back only once it has tidied up and stopped', { timeout: 60_000 }, () => {
    const out = shell([
      ['send', `${jail('--ro . -- python3 tstp.py')}\n`],
      ['wait', 'ready', 10],
      ['send', '\x1a'],
      ['wait', 'Stopped', 10],
      ['send', 'fg\n'],
      ['wait', 'back', 10],
      ['send', 'typed\n'],
      ['wait', 'read typed', 10],
      ['send', 'echo rc=$?\n'],
      ['wait', 'rc=\\d+', 5],
    ]);
    expect(out).not.toContain('TIMEOUT');
    // the bare command shows the same: tidied, then Stopped; back after fg
    expect(out).toMatch(/ready\n[^]*tidied\n[^]*Stopped[^\n]*tstp\.py[^]*back\n[^]*read typed\n[^]*rc=0\n/);
  });

  it('a command in the background that reads the terminal stops (tty input); fg gives it the terminal', { timeout: 60_000 }, () => {
    const out = shell([
      ['send', `${jail('--ro . -- cat')} &\n`],
      ['sleep', 2],
      ['send', 'jobs -l\n'],
      ['wait', 'Stopped|Running', 5],
      ['send', 'fg\n'],
      ['sleep', 1],
      ['send', 'hello\n'],
      ['wait', 'hello\\s+hello', 5],
      ['send', '\x04'],
      ['sleep', 1],
      ['send', 'echo rc=$?\n'],
      ['wait', 'rc=\\d+', 5],
    ]);
    expect(out).not.toContain('TIMEOUT');
    expect(out).toMatch(/Stopped \(tty input\)[^]*hello\nhello\n[^]*rc=0\n/);
  });
});

/** Run `jail ARGS` (no terminal); once `ready` shows on stdout, send
 *  `signal` (if any); how it ended, and when (null: not within `ms`). */
function runUntil(w: World, args: string[], asNobody: boolean, ready: string, signal: NodeJS.Signals | null, ms: number) {
  const [cmd, argv] = jailCommand(w, args, { asNobody });
  return new Promise<{ out: string; code: number | null; sig: string | null; ended: boolean }>((resolve) => {
    const child = spawn(cmd, argv, { cwd: w.proj, env: w.env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve({ out, code: null, sig: null, ended: false });
    }, ms);
    child.stdout.on('data', (d: Buffer) => {
      const before = out.includes(ready);
      out += d.toString();
      if (!before && out.includes(ready) && signal) child.kill(signal);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      resolve({ out, code, sig, ended: true });
    });
  });
}

// The command stopped, and another (its own child here) continued it: the
// bare command runs on, ends, and obeys a SIGTERM. The jail followed the
// stop and stayed stopped: it never ended, and a caller's SIGTERM (a
// timeout's) waited for a fg while the command ran on. Both layers: the
// namespace layer's init tells the jail, the fallback's jail does not
// follow stops at all.
strictJail.describe.each(users)(
  'a command continued by another than the shell, as %s',
  (_, asNobody) => {
    const cont = `(sleep 0.5; kill -CONT $$) & kill -STOP $$; echo after`;
    it('the jail goes on with it and ends with its status', { timeout: 30_000 }, async () => {
      const r = await runUntil(w, ['--ro', '.', '--', 'sh', '-c', `${cont}; exit 7`], asNobody, 'never', null, 10_000);
      expect(r).toEqual({ out: 'after\n', code: 7, sig: null, ended: true });
    });
    it('a SIGTERM to the jail ends the command', { timeout: 30_000 }, async () => {
      const r = await runUntil(w, ['--ro', '.', '--', 'sh', '-c', `${cont}; sleep 20; echo not-ended`], asNobody, 'after', 'SIGTERM', 10_000);
      expect(r).toEqual({ out: 'after\n', code: null, sig: 'SIGTERM', ended: true });
    });
    it('(control) the bare command', { timeout: 30_000 }, async () => {
      const r = await new Promise<number | null>((resolve) => spawn('sh', ['-c', `${cont}; exit 7`], { stdio: 'ignore' }).on('exit', resolve));
      expect(r).toBe(7);
    });
  },
);

// A child of the command stops and continues it in a loop: the jail neither
// hangs nor loses the command's status. A stop report whose stop was over
// by the time the jail looked ended its following: it then took the init's
// own status (0) for the command's, or waited for an init stuck sending
// the status into a full socket. Both layers (the fallback's jail does not
// follow stops).
strictJail.describe.each(users)('a command stopped and continued in a loop by its child, as %s', (_, asNobody) => {
  it('the jail ends with its status, each time', { timeout: 120_000 }, async () => {
    const flood = `p=$$; (i=0; while [ $i -lt 500 ]; do kill -STOP $p; kill -CONT $p; i=$((i+1)); done) & wait; exit 42`;
    const codes: Array<number | null> = [];
    for (let i = 0; i < 20; i++) codes.push((await runUntil(w, ['--ro', '.', '--', 'sh', '-c', flood], asNobody, 'never', null, 20_000)).code);
    expect(codes).toEqual(Array(20).fill(42));
  });
});

describe('pty-shell.py', () => {
  it('the bare command shows what the jailed one must', { timeout: 30_000 }, () => {
    const out = shell([
      ['send', `sh -c 'echo in; kill -STOP $$; echo resumed'\n`],
      ['wait', 'Stopped', 10],
      ['send', 'fg\n'],
      ['wait', 'resumed', 10],
    ]);
    expect(out).toMatch(/Stopped[^]*resumed\n/);
  });
});
