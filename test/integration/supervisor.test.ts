/**
 * The supervisor: a parent outside the jail that waits, passes signals on,
 * removes the private TMPDIR and exits as the command did. And the
 * environment the command gets.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JAIL, NODE, jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('sup');
});
afterAll(() => removeWorld(w));

/** Start `jail … -- sh -c 'echo $TMPDIR; sleep 30'` and wait for its TMPDIR. */
async function startSleeper(opts: { detached?: boolean } = {}) {
  const child = spawn(NODE, [JAIL, '--ro', '.', '--', 'sh', '-c', 'echo "$TMPDIR"; exec sleep 30'], {
    cwd: w.proj,
    env: w.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.detached,
  });
  const tmp = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
  const exited = new Promise<[number | null, string | null]>((r) => child.on('exit', (c, s) => r([c, s])));
  return { child, tmp, exited };
}

strictJail.describe('the private TMPDIR', () => {
  it('is a fresh 0700 directory, writable, and gone after a normal exit', () => {
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', 'echo "$TMPDIR $TMP $TEMP"; stat -c %a "$TMPDIR"; echo hi > "$TMPDIR/f" && cat "$TMPDIR/f"']);
    const [dirs, mode, hi] = r.stdout.trim().split('\n');
    const [tmp, tmp2, tmp3] = dirs!.split(' ');
    expect([tmp2, tmp3]).toEqual([tmp, tmp]);
    expect(tmp).toMatch(new RegExp(`^${fs.realpathSync(os.tmpdir())}/jail-`));
    expect([mode, hi, r.status]).toEqual(['700', 'hi', 0]);
    expect(fs.existsSync(tmp!)).toBe(false);
  });

  it('is gone after Ctrl-C (SIGINT to the process group), and the jail dies of SIGINT', async () => {
    const s = await startSleeper({ detached: true });
    expect(fs.existsSync(s.tmp)).toBe(true);
    process.kill(-s.child.pid!, 'SIGINT');
    expect(await s.exited).toEqual([null, 'SIGINT']);
    expect(fs.existsSync(s.tmp)).toBe(false);
  });

  it('passes SIGTERM sent to the jail on to the command, then cleans up', async () => {
    const s = await startSleeper();
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual([null, 'SIGTERM']);
    expect(fs.existsSync(s.tmp)).toBe(false);
  });

  it('is gone after Ctrl-C typed on a real terminal, and the shell sees SIGINT', async () => {
    // script(1) gives the jail a pty; \x03 typed there is the terminal's
    // Ctrl-C, which the kernel sends to the whole foreground process group.
    // The shell around it ignores SIGINT (so it lives to print the status);
    // the jail must give the command default dispositions all the same.
    const child = spawn('script', ['-qefc', `bash -c "trap '' INT; ${NODE} ${JAIL} --ro . -- sh -c 'echo T=\\$TMPDIR; exec sleep 30'; echo status=\\$?"`, '/dev/null'], {
      cwd: w.proj,
      env: w.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    const tmp = await new Promise<string>((resolve) =>
      child.stdout.on('data', (d) => {
        out += String(d);
        const m = /T=(\S+)/.exec(out);
        if (m) resolve(m[1]!);
      }),
    );
    expect(fs.existsSync(tmp)).toBe(true);
    child.stdin.write('\x03');
    await new Promise((r) => child.on('exit', r));
    expect(out).toMatch(/status=130/);
    expect(fs.existsSync(tmp)).toBe(false);
  });

  it('/tmp itself is not granted', () => {
    const marker = `/tmp/jail-planted-${process.pid}`;
    const r = jail(w, ['--ro', '.', '--', 'sh', '-c', `ls /tmp; echo x > ${marker}`]);
    expect(r.status).not.toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
  });
});

describe('the environment', () => {
  const env = () => ({ ...w.env, GITHUB_TOKEN: 'ghp_SECRET1', AWS_SECRET_ACCESS_KEY: 'AWS_SECRET2', NPM_TOKEN: 'npm_SECRET3', HARMLESS: 'visible', SSH_AUTH_SOCK: '/run/agent.sock' });
  strictJail.it('drops secrets and agent sockets by default, keeps the rest', () => {
    const r = jail(w, ['--ro', '.', '--', 'env'], { env: env() });
    expect(r.stdout).toContain('HARMLESS=visible');
    for (const s of ['ghp_SECRET1', 'AWS_SECRET2', 'npm_SECRET3', 'SSH_AUTH_SOCK']) expect(printed(r)).not.toContain(s);
    // Control: --env-all passes them.
    const all = jail(w, ['--env-all', '--ro', '.', '--', 'env'], { env: env() });
    expect(all.stdout).toContain('ghp_SECRET1');
  });
  strictJail.it('--env NAME passes one through, --env NAME=VALUE sets one', () => {
    const r = jail(w, ['--env', 'NPM_TOKEN', '--env', 'MODE=test', '--ro', '.', '--', 'env'], { env: env() });
    expect(r.stdout).toContain('NPM_TOKEN=npm_SECRET3');
    expect(r.stdout).toContain('MODE=test');
    expect(r.stdout).not.toContain('ghp_SECRET1');
  });
  strictJail.it('--clean-env passes only the minimal list', () => {
    const r = jail(w, ['--clean-env', '--ro', '.', '--', 'env'], { env: env() });
    const names = r.stdout.trim().split('\n').map((l) => l.split('=')[0]).sort();
    // Plus what the jail itself sets: the private TMPDIR, the npmrc copy, npm offline (no network).
    expect(names).toEqual(['HOME', 'LANG', 'NPM_CONFIG_USERCONFIG', 'PATH', 'TEMP', 'TMP', 'TMPDIR', 'npm_config_offline', 'npm_config_userconfig']);
  });
  strictJail.it('-v names what was left out, never the values', () => {
    const r = jail(w, ['-v', '--ro', '.', '--', 'true'], { env: env() });
    expect(r.stderr).toMatch(/left out .*AWS_SECRET_ACCESS_KEY.*GITHUB_TOKEN.*NPM_TOKEN.*SSH_AUTH_SOCK/);
    for (const s of ['ghp_SECRET1', 'AWS_SECRET2', 'npm_SECRET3']) expect(r.stderr).not.toContain(s);
  });
  it('a malformed --env is exit 125', () => {
    expect(jail(w, ['--env', '1BAD', '--', 'true']).status).toBe(125);
    expect(jail(w, ['--env-all', '--clean-env', '--', 'true']).status).toBe(125);
  });
});
