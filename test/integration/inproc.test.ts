/**
 * spawn() and run() in the calling process (src/inproc.ts): no second Node
 * process, nothing process-wide, so a harness may run many at once beside
 * children of its own. The load runs in a child process of its own
 * (fixtures/inproc-load.cjs), as root and as nobody, judged there: fds,
 * zombies and memory of the process that called run().
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { run, spawn } from '../../src/api.js';
import { IS_ROOT, kernel, lacksAbi, LAYER, makeWorld, needs, NODE, REPO, removeWorld, strictJail, until, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('inproc');
});
afterAll(() => removeWorld(w));

const LOAD = path.join(__dirname, 'fixtures', 'inproc-load.cjs');
const ROUNDS = 1000;

interface Load {
  uid: number;
  rounds: number;
  msPerRun: number;
  fds: [number, number, number];
  rssGrowthMb: number;
  zombies: number[];
  failures: unknown[];
  wrong: unknown[];
  paths: string[];
  bystander: { state: string; exitCode: number | null; signalCode: string | null };
}

function load(asNobody: boolean): Load {
  const argv = ['--expose-gc', LOAD, path.join(REPO, 'dist', 'index.js'), String(ROUNDS)];
  const [cmd, args] = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, ...argv]] : [NODE, argv];
  const r = spawnSync(cmd, args, { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 170_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Load;
}

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];

strictJail.describe.each(users)(`in-process spawn under load (${LAYER} layer), as %s`, (_, asNobody) => {
  it(`${ROUNDS} sequential run()s leak no fds, zombies or memory; 50 concurrent spawn()s end right; a child of the harness lives on`, { timeout: 180_000 }, () => {
    const r = load(asNobody);
    expect(r.uid).toBe(asNobody ? 65534 : process.getuid?.());
    expect(r.failures).toEqual([]);
    expect(r.paths).toEqual(['in-process']);
    expect(r.fds[1]).toBe(r.fds[0]);
    expect(r.fds[2]).toBe(r.fds[0]);
    expect(r.zombies).toEqual([]);
    expect(r.rssGrowthMb).toBeLessThan(30);
    expect(r.wrong).toEqual([]);
    expect(r.bystander).toEqual({ state: 'S', exitCode: null, signalCode: null });
  });
});

// The warm init (native/warm.c): made after a run for the next, in the
// namespace layer. Judged in a process of its own (fixtures/inproc-warm.cjs).
const warmGate = needs(kernel.namespaces.ok && !lacksAbi(6), `needs the namespace layer (the warm init is made there) and Landlock ABI 6; here: ${kernel.namespaces.ok ? `ABI ${kernel.landlockAbi}` : kernel.namespaces.why}`);
const WARM = path.join(__dirname, 'fixtures', 'inproc-warm.cjs');
function warmFixture(asNobody: boolean, mode?: string): Record<string, unknown> {
  const argv = [WARM, path.join(REPO, 'dist', 'index.js'), ...(mode ? [mode] : [])];
  const [cmd, args] = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, ...argv]] : [NODE, argv];
  const r = spawnSync(cmd, args, { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 50_000 });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(out.error).toBeUndefined();
  return out;
}

/** Children of this process that are a waiting init (comm jail-init, asleep). */
const childrenOf = createRequire(__filename)('./fixtures/children.cjs') as () => Array<{ pid: number; comm: string; state: string }>;
const waitingInits = () => childrenOf().filter((c) => c.comm === 'jail-init' && c.state === 'S').map((c) => c.pid);

warmGate.describe.each(users)('the warm init, as %s', (_, asNobody) => {
  it('starts the next run; the umask and resource limits of the moment reach its command; one made for the host network never serves a run without it; none outlives the process', async () => {
    const out = warmFixture(asNobody);
    expect(out.warm).toEqual(expect.any(Number));
    expect(out.taken).toBe(out.warm);
    // umask set after the init was made: that init served, with it
    expect(out.umask).toEqual({ pid: out.warmBeforeUmask, out: '0027', code: 0 });
    // a limit changed from outside: another init served, with it
    expect(out.prlimit).toBe(0);
    expect((out.limit as { out: string }).out).toMatch(/^Max msgqueue size 123456 /);
    expect((out.limit as { pid: number }).pid).not.toBe(out.warmBeforeLimit);
    // --net all, then the default: the listener saw the first run only
    expect(out.openNet).toBe(0);
    expect(out.noneNet).toEqual({ pid: expect.any(Number), code: 3 });
    expect((out.noneNet as { pid: number }).pid).not.toBe(out.warmBeforeNone);
    expect(out.connections).toBe(1);
    // the one waiting when the process exited has ended too
    expect(out.lastWarm).toEqual(expect.any(Number));
    expect(await until(() => !fs.existsSync(`/proc/${out.lastWarm as number}`), 3_000)).toBe(true);
  });

  it("leaves the CLI's supervisor (runPrepared) in the same process no child of its own: it runs, and none is made after", () => {
    const out = warmFixture(asNobody, 'supervisor');
    expect(out.warmBeforeSupervisor).toEqual(expect.any(Number));
    expect(out.supervised).toBe(0);
    expect(out.waitingAfterSupervisor).toEqual([]);
    expect(out.afterSupervisor).toBe('ran\n');
  });

  it("leaves a worker thread's spawn an init of its own, which ends when the worker is terminated", () => {
    const out = warmFixture(asNobody, 'worker');
    expect(out.warmBeforeWorker).toEqual(expect.any(Number));
    expect(out.workerChild).not.toBe(out.warmBeforeWorker);
    // killed with its thread: a zombie of this process, or reaped
    expect(['Z', 'gone']).toContain(out.workerChildState);
  });
});

needs(IS_ROOT && kernel.namespaces.ok && !lacksAbi(6), 'runs as root (mounts a tmpfs), in the namespace layer').it('(root) a mount made after the warm init was made is in the next run\'s view (the init made before it is not used)', async () => {
  const dir = fs.mkdtempSync(path.join(w.root, 'warm-mount-'));
  fs.writeFileSync(path.join(dir, 'under-the-mount'), 'x');
  const policy = { ro: ['/'] };
  expect((await run(policy, 'ls', [dir], { cwd: w.proj, env: w.env })).stdout).toBe('under-the-mount\n');
  // an init waits, made before the mount
  expect(await until(() => waitingInits().length === 1, 2_000)).toBe(true);
  expect(spawnSync('mount', ['-t', 'tmpfs', 'none', dir]).status).toBe(0);
  try {
    fs.writeFileSync(path.join(dir, 'on-the-mount'), 'x');
    const r = await run(policy, 'ls', [dir], { cwd: w.proj, env: w.env });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'on-the-mount\n', '']);
  } finally {
    spawnSync('umount', [dir]);
  }
});

/** A kept-plan fixture (fixtures/NAME.cjs DIST DIR SECRET), run as root
 *  or as nobody in a fresh directory it may write: its one JSON line, and
 *  the secret it was given. */
function keptFixture(name: string, asNobody: boolean): { out: Record<string, unknown>; secret: string } {
  const dir = fs.mkdtempSync(path.join(w.root, `${name}-`));
  fs.chmodSync(dir, 0o777);
  const secret = `KEPT-SECRET-${Math.random().toString(36).slice(2, 10)}`;
  const argv = [path.join(__dirname, 'fixtures', `${name}.cjs`), path.join(REPO, 'dist', 'index.js'), dir, secret];
  const [cmd, args] = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, ...argv]] : [NODE, argv];
  const r = spawnSync(cmd, args, { cwd: dir, env: w.env, encoding: 'utf8', timeout: 50_000 });
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as Record<string, unknown>;
  expect(out.error).toBeUndefined();
  return { out, secret };
}

strictJail.describe.each(users)(`kept plans (${LAYER} layer), as %s`, (_, asNobody) => {
  it('a .env made between two runs of the same policy, outside or by the first run, is hidden in the second (the kept plan is not reused)', { timeout: 60_000 }, () => {
    const { out, secret } = keptFixture('inproc-kept', asNobody);
    expect(out.outsideBefore).toMatch(/No such file/);
    expect(out.plant).toBe(0);
    expect(out.outsideAfter).not.toContain(secret);
    expect(out.jailedAfter).not.toContain(secret);
    // the files were there, and readable unhidden: the runs above could have shown them
    expect(out.control).toContain(`${secret}-outside`);
    expect(out.control).toContain(`${secret}-jailed`);
  });
});

// A kept plan's command is made ready while its answers are checked
// (native/warm.c, in the namespace layer): one that does not hold must run
// nothing, leave no TMPDIR, and give way to a plan prepared afresh, even
// one that needs the CLI. Every command appends a line to a log: a command
// of a plan that did not hold would show as a line too many.
strictJail.describe.each(users)(`kept plans made ready early (${LAYER} layer), as %s`, (_, asNobody) => {
  it('a kept plan that does not hold runs nothing of its own: the fresh plan runs, once, and hides the .env; one that now needs the CLI goes there, leaving nothing open', { timeout: 60_000 }, () => {
    const { out, secret } = keptFixture('inproc-gated', asNobody);
    // made ready early only where an init waits for it: the namespace layer
    const early = LAYER === 'namespaces' && !lacksAbi(6);
    expect(out.againCalls).toEqual(early ? ['start true', 'finish'] : []);
    expect(out.afterCalls).toEqual(early ? ['start true', 'cancel'] : []);
    expect(out.first).toMatch(/No such file/);
    expect(out.again).toMatch(/No such file/);
    expect(out.after).not.toContain(secret);
    expect(out.log).toBe('ran\nran\nran\n');
    expect(out.tmp).toEqual([]);
    expect(out.control).toContain(secret); // there, and readable unhidden: the run above could have shown it
    // prepared afresh with --allow-host from the user's config: the CLI
    expect(out.profile).toBe('cli\n');
    expect(out.cli).toEqual({ jailPath: { path: 'cli', why: expect.stringMatching(/egress proxy/) }, status: 0, said: 'cli\n' });
    expect(out.cliCalls).toEqual(early ? ['start true', 'cancel'] : []);
    expect(out.cliLeft).toEqual([]);
  });
});

// The request a plan is kept under must hold all that preparing it reads,
// and keeping it must freeze nothing of the caller's.
strictJail.describe('kept plans: the request', () => {
  it("reads the environment as child_process does (inherited variables, numbers), so a plan kept for one value is not reused for another", async () => {
    const files = ['A', 'B'].map((n) => {
      const f = path.join(w.root, `kept-npmrc-${n}`);
      fs.writeFileSync(f, `kept-from-file-${n}=1\n`);
      return f;
    });
    const own = { ...w.env };
    delete own.NPM_CONFIG_USERCONFIG;
    delete own.npm_config_userconfig;
    const inheriting = (file: string) => Object.assign(Object.create({ NPM_CONFIG_USERCONFIG: file, KEPT_INHERITED: 'inherited' }) as NodeJS.ProcessEnv, own, { KEPT_NUMBER: 12 });
    const script = 'cat "$NPM_CONFIG_USERCONFIG"; echo "$KEPT_INHERITED $KEPT_NUMBER"';
    // The control: what the command is given run directly.
    const direct = spawnSync('sh', ['-c', 'echo "$KEPT_INHERITED $KEPT_NUMBER"'], { env: inheriting(files[0]!), encoding: 'utf8' });
    expect(direct.stdout).toBe('inherited 12\n');
    const a = await run({ ro: ['.'] }, 'sh', ['-c', script], { cwd: w.proj, env: inheriting(files[0]!) });
    const b = await run({ ro: ['.'] }, 'sh', ['-c', script], { cwd: w.proj, env: inheriting(files[1]!) });
    expect([a.status, a.stderr, a.stdout]).toEqual([0, '', 'kept-from-file-A=1\ninherited 12\n']);
    expect([b.status, b.stderr, b.stdout]).toEqual([0, '', 'kept-from-file-B=1\ninherited 12\n']);
  });
  it("freezes none of the caller's policy (a kept plan is frozen through)", async () => {
    const policy = { ro: ['.'], allowUnix: [true] as Array<string | true>, env: ['KEPT_X'] };
    for (let i = 0; i < 2; i++) expect((await run(policy, 'true', [], { cwd: w.proj, env: w.env })).status).toBe(0);
    expect([Object.isFrozen(policy), Object.isFrozen(policy.ro), Object.isFrozen(policy.allowUnix), Object.isFrozen(policy.env)]).toEqual([false, false, false, false]);
    policy.allowUnix.push('/nonexistent/kept.sock?');
    expect(policy.allowUnix).toHaveLength(2);
  });
});

strictJail.describe('which path runs', () => {
  it('a plain run is in-process; one with an egress proxy takes the CLI', async () => {
    const a = spawn({ ro: ['.'] }, 'true', [], { cwd: w.proj, env: w.env, stdio: 'ignore' }) as ReturnType<typeof spawn> & { jailPath: { path: string } };
    expect(a.jailPath.path).toBe('in-process');
    const b = spawn({ ro: ['.'], allowHost: ['example.com'] }, 'true', [], { cwd: w.proj, env: w.env, stdio: 'ignore' }) as ReturnType<typeof spawn> & { jailPath: { path: string; why: string } };
    expect(b.jailPath).toMatchObject({ path: 'cli', why: expect.stringMatching(/egress proxy/) });
    const ends = (c: ReturnType<typeof spawn>) => new Promise((r) => c.on('close', (code) => r(code)));
    expect(await Promise.all([ends(a), ends(b)])).toEqual([0, 0]);
  });
  it('a spawn option this path lacks takes the CLI', async () => {
    const c = spawn({ ro: ['.'] }, 'true', [], { cwd: w.proj, env: w.env, stdio: 'ignore', detached: true }) as ReturnType<typeof spawn> & { jailPath: { path: string } };
    expect(c.jailPath.path).toBe('cli');
    await new Promise((r) => c.on('close', r));
  });
});

strictJail.describe('in-process spawn()', () => {
  it('stdio inherit and a given fd reach the command; cwd is where it starts', async () => {
    const out = path.join(w.root, 'inproc-out.txt');
    const fd = fs.openSync(out, 'w');
    const c = spawn({ ro: ['.'] }, 'sh', ['-c', 'pwd; echo to-fd'], { cwd: w.proj, env: w.env, stdio: ['ignore', fd, 'inherit'] });
    const code = await new Promise((r) => c.on('close', r));
    fs.closeSync(fd);
    expect(code).toBe(0);
    expect(fs.readFileSync(out, 'utf8')).toBe(`${fs.realpathSync(w.proj)}\nto-fd\n`);
  });
  it(`what the command leaves running ends with it, even in a new session (${LAYER} layer: ${LAYER === 'namespaces' ? 'its init is PID 1' : 'its init is a subreaper'})`, async () => {
    const marker = path.join(w.outside, 'inproc-left');
    const r = await run({ ro: ['.'], rw: [w.outside] }, 'sh', ['-c', `setsid sh -c 'sleep 1; touch ${marker}' & (sleep 1; touch ${marker}) & echo started`], { cwd: w.proj, env: w.env });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'started\n', '']);
    await new Promise((res) => setTimeout(res, 1500));
    expect(fs.existsSync(marker)).toBe(false);
    // The control: the same command, not jailed, leaves it behind.
    spawnSync('sh', ['-c', `setsid sh -c 'sleep 0.2; touch ${marker}' & echo started`], { encoding: 'utf8' });
    await new Promise((res) => setTimeout(res, 700));
    expect(fs.existsSync(marker)).toBe(true);
    fs.rmSync(marker);
  });
  // The child's watch (binding.cc, watchChild) stops polling its fds before
  // they are closed: a spawn made in the close handler gets their numbers,
  // and libuv refuses a poll of a number it still watches (EEXIST). In a
  // process of its own, whose free numbers are the ones just closed.
  it('a spawn made in the previous child\'s close handler starts, again and again', () => {
    const r = spawnSync(NODE, [path.join(__dirname, 'fixtures', 'inproc-chain.cjs'), path.join(REPO, 'dist', 'index.js'), w.proj, '12'], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000 });
    expect([r.stdout, r.stderr]).toEqual(['ok 0,2,1,0,2,1,0,2,1,0,2,1\n', '']);
  });
  it('when exit comes, nothing the command left running is alive any more (the status comes before the init has exited)', async () => {
    const tag = `${900 + Math.floor(Math.random() * 99)}.${process.pid}`;
    const alive = () => {
      const out: string[] = [];
      for (const name of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          if (fs.readFileSync(`/proc/${name}/cmdline`, 'utf8') !== `sleep\0${tag}\0`) continue;
          const st = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
          if (st.slice(st.lastIndexOf(')') + 2)[0] !== 'Z') out.push(name);
        } catch {
          // gone meanwhile
        }
      }
      return out;
    };
    for (let round = 0; round < 5; round++) {
      const child = spawn({ ro: ['.'] }, 'sh', ['-c', `sleep ${tag} & sleep ${tag} & setsid sleep ${tag} & echo started`], { cwd: w.proj, env: w.env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      const exited = new Promise<string[]>((res) => child.on('exit', () => res(alive())));
      const closed = new Promise((res) => child.on('close', res));
      const left = await exited;
      await closed;
      expect(out).toBe('started\n');
      expect(left, `round ${round}`).toEqual([]);
    }
    // The control: unjailed, they are there.
    const control = spawnSync('sh', ['-c', `sleep ${tag} >/dev/null 2>&1 & echo $!`], { encoding: 'utf8' });
    expect(alive()).toHaveLength(1);
    process.kill(Number(control.stdout.trim()), 'SIGKILL');
  });
  it('a hook planted in a writable tree is put back after the run, on this path too, and a process left to plant it again is ended first', async () => {
    const repo = path.join(w.root, 'inproc-repo');
    fs.mkdirSync(repo, { recursive: true });
    spawnSync('sh', ['-c', `git init -q -b main . && printf '#!/bin/sh\\nexit 0\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit`], { cwd: repo });
    const hook = path.join(repo, '.git', 'hooks', 'pre-commit');
    const before = fs.readFileSync(hook, 'utf8');
    const plant = `printf '#!/bin/sh\\ntouch /tmp/pwned\\n' > .git/hooks/pre-commit 2>/dev/null`;
    const c = spawn({ rw: [repo] }, 'sh', ['-c', `${plant}; setsid sh -c "sleep 1; ${plant}" & echo done`], { cwd: repo, env: w.env }) as ReturnType<typeof spawn> & { jailPath: { path: string } };
    expect(c.jailPath.path).toBe('in-process');
    let err = '';
    c.stderr!.on('data', (d) => (err += d));
    expect(await new Promise((r) => c.on('close', r))).toBe(0);
    expect(fs.readFileSync(hook, 'utf8')).toBe(before);
    await new Promise((res) => setTimeout(res, 1500));
    expect(fs.readFileSync(hook, 'utf8')).toBe(before);
    if (LAYER === 'landlock') expect(err).toMatch(/pre-commit/); // the fallback's restore says what it put back
  });
  // The library keeps root's /etc scan between runs (binding.cc,
  // scanTreeKept): a file made unreadable to others after one run must not
  // be granted to the next, though the path, the inode and the scan's
  // other entries are all unchanged.
  needs(IS_ROOT, 'runs as root: the system base scans /etc for root').it(`(root) a file in /etc made unreadable to others after a run is not granted to the next run (${LAYER} layer)`, async () => {
    const file = `/etc/jail-kept-test-${process.pid}`;
    fs.writeFileSync(file, 'READABLE-BEFORE\n');
    fs.chmodSync(file, 0o644);
    try {
      const before = await run({ ro: ['.'] }, 'cat', [file], { cwd: w.proj, env: w.env });
      expect([before.status, before.stdout]).toEqual([0, 'READABLE-BEFORE\n']); // the control: granted while readable
      fs.writeFileSync(file, 'SECRET-AFTER\n');
      fs.chmodSync(file, 0o600);
      const after = await run({ ro: ['.'] }, 'cat', [file], { cwd: w.proj, env: w.env });
      expect(after.stdout).not.toContain('SECRET');
      expect(after.status).not.toBe(0);
      expect(after.status).not.toBe(125); // it ran, and cat was refused
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
  // chmod through a hard link elsewhere on the same file system reaches the
  // inode, not /etc's directory watch.
  needs(IS_ROOT, 'runs as root: the system base scans /etc for root').it(`(root) nor when the mode was changed through a hard link outside /etc (${LAYER} layer)`, async () => {
    const file = `/etc/jail-kept-link-${process.pid}`;
    const link = path.join(os.tmpdir(), `jail-kept-link-${process.pid}`);
    fs.writeFileSync(file, 'READABLE-BEFORE\n');
    fs.chmodSync(file, 0o644);
    try {
      try {
        fs.linkSync(file, link);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EXDEV') return; // /etc and the temp dir on two file systems: no such link here
        throw e;
      }
      const before = await run({ ro: ['.'] }, 'cat', [file], { cwd: w.proj, env: w.env });
      expect([before.status, before.stdout]).toEqual([0, 'READABLE-BEFORE\n']); // the control
      fs.writeFileSync(link, 'SECRET-AFTER\n');
      fs.chmodSync(link, 0o600);
      const after = await run({ ro: ['.'] }, 'cat', [file], { cwd: w.proj, env: w.env });
      expect(after.stdout).not.toContain('SECRET');
      expect(after.status).not.toBe(0);
      expect(after.status).not.toBe(125);
    } finally {
      fs.rmSync(file, { force: true });
      fs.rmSync(link, { force: true });
    }
  });
  // The kept scan is the addon's, one per process; each worker thread has
  // jail's JavaScript, and its converted copy of the scan, to itself.
  needs(IS_ROOT, 'runs as root: the system base scans /etc for root').it(`(root) nor to the next run in a worker thread, after another worker rescanned (${LAYER} layer)`, () => {
    const file = `/etc/jail-kept-workers-${process.pid}`;
    fs.writeFileSync(file, 'READABLE-BEFORE\n');
    fs.chmodSync(file, 0o644);
    try {
      const r = spawnSync(NODE, ['--no-warnings', path.join(__dirname, 'fixtures', 'kept-workers.cjs'), path.join(REPO, 'dist', 'index.js'), file], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000 });
      expect([r.status, r.stderr]).toEqual([0, '']);
      const out = JSON.parse(r.stdout) as Record<string, { status: number; stdout: string }>;
      expect(out.before).toMatchObject({ status: 0, stdout: 'READABLE-BEFORE\n' }); // the control
      expect(out.other!.status).toBe(0);
      expect(out.after!.stdout).not.toContain('SECRET');
      expect(out.after!.status).not.toBe(0);
      expect(out.after!.status).not.toBe(125); // it ran, and cat was refused
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
  it('runs from a worker thread without warnings on the caller\'s stderr (the addon\'s descriptors are closed by the addon, not by fs)', () => {
    const lib = JSON.stringify(path.join(REPO, 'dist', 'index.js'));
    // Each stdio kind: pipes (the addon's), /dev/null (fs's), inherit; and a
    // failed start, whose message goes to a pipe the addon made.
    const inWorker = `const { run } = require(${lib}); (async () => { const a = await run({ ro: ['.'] }, 'sh', ['-c', 'echo out; echo err >&2']); const b = await run({ ro: ['.'] }, 'true', [], { stdio: 'ignore' }); const c = await run({ ro: ['.'] }, 'no-such-command-jail'); require('node:worker_threads').parentPort.postMessage([a.status, a.stdout, a.stderr, b.status, c.status]); })();`;
    const script = `const { Worker } = require('node:worker_threads'); new Worker(${JSON.stringify(inWorker)}, { eval: true }).on('message', (m) => console.log(JSON.stringify(m))).on('error', (e) => { console.error(e); process.exitCode = 1; });`;
    const r = spawnSync(NODE, ['-e', script], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([0, 'out\n', 'err\n', 0, 127]);
  });
  it('a worker thread terminated while its jailed command runs ends that command, and the process goes on', () => {
    const lib = JSON.stringify(path.join(REPO, 'dist', 'index.js'));
    const marker = path.join(w.proj, `worker-ended-${LAYER}`);
    fs.rmSync(marker, { force: true });
    // The command would touch the marker after 1.5 s, were it left running.
    const inWorker = `const { spawn } = require(${lib}); const c = spawn({ ro: ['/'], rw: [${JSON.stringify(w.proj)}] }, 'sh', ['-c', 'sleep 1.5; touch ${marker}'], { stdio: 'ignore' }); c.on('spawn', () => require('node:worker_threads').parentPort.postMessage(c.pid));`;
    const script = `const { Worker } = require('node:worker_threads'); const w = new Worker(${JSON.stringify(inWorker)}, { eval: true }); w.on('message', async (pid) => { await w.terminate(); setTimeout(() => console.log(JSON.stringify({ pid, alive: require('fs').existsSync('/proc/' + pid + '/stat') && !/\\) Z /.test(require('fs').readFileSync('/proc/' + pid + '/stat', 'utf8')) })), 2500); });`;
    const r = spawnSync(NODE, ['-e', script], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 20_000 });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ pid: expect.any(Number), alive: false });
    expect(fs.existsSync(marker)).toBe(false);
  });
  it('a toolchain under $HOME that cannot run what it runs next gets the same hint as from the jail command', async () => {
    const bin = path.join(w.home, '.inproc-tool', 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.mkdirSync(path.join(w.home, '.inproc-tool', 'libexec'));
    fs.writeFileSync(path.join(w.home, '.inproc-tool', 'libexec', 'real'), '#!/bin/sh\necho real\n', { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'shim'), `#!/bin/sh\nexec ${path.join(w.home, '.inproc-tool', 'libexec', 'real')}\n`, { mode: 0o755 });
    const r = await run({ ro: ['.'] }, 'shim', [], { cwd: w.proj, env: { ...w.env, PATH: `${bin}:${w.env.PATH}` } });
    expect([126, 127]).toContain(r.status);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('lies under $HOME');
    expect(r.stderr).toContain('hint: --toolchains grants the toolchains under $HOME');
    const plain = await run({ ro: ['.'] }, 'sh', ['-c', 'exit 127'], { cwd: w.proj, env: w.env });
    expect([plain.status, plain.stderr]).toEqual([127, '']);
  });
  it('unref() lets the caller exit while the command runs; ref() (the default) keeps it', () => {
    const lib = JSON.stringify(path.join(REPO, 'dist', 'index.js'));
    const script = (unref: boolean) =>
      `const c = require(${lib}).spawn({ ro: ['.'] }, 'sleep', ['3'], { stdio: 'ignore' }); ${unref ? 'c.unref();' : ''} const t = Date.now(); process.on('exit', () => console.log(c.jailPath.path, Date.now() - t < 2000 ? 'early' : 'waited'));`;
    const unrefd = spawnSync(NODE, ['-e', script(true)], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 10_000 });
    expect([unrefd.stdout, unrefd.stderr]).toEqual(['in-process early\n', '']);
    const refd = spawnSync(NODE, ['-e', script(false)], { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 10_000 });
    expect([refd.stdout, refd.stderr]).toEqual(['in-process waited\n', '']);
  });
  // The caller may exit (or be killed) while a jailed command runs, as
  // after unref(): the command and all it left running, even in a new
  // session, must end with it, in both layers (the fallback's init is the
  // subreaper that ends them; it must not be killed before it has).
  it.each(users)(`what a run left running ends when the calling process exits mid-run (${LAYER} layer), as %s`, async (_, asNobody) => {
    const tag = `${process.pid}-${asNobody ? 'n' : 'r'}`;
    const marks = ['setsid', 'bg', 'cmd'].map((m) => path.join(w.outside, `exit-${m}-${tag}`));
    const lib = JSON.stringify(path.join(REPO, 'dist', 'index.js'));
    // The command ignores every signal it may (64: SIGRTMAX, what the
    // fallback's init is sent when its parent dies): the init must end it.
    const cmd = `trap '' HUP INT QUIT TERM USR1 USR2 64; setsid sh -c 'sleep 1.5; touch ${marks[0]}' & (sleep 1.5; touch ${marks[1]}) & echo started; sleep 1.5; touch ${marks[2]}`;
    const script = `const c = require(${lib}).spawn({ ro: ['.'], rw: [${JSON.stringify(w.outside)}] }, 'sh', ['-c', ${JSON.stringify(cmd)}]); c.stdout.on('data', () => { console.log(c.jailPath.path); process.exit(0); }); c.stderr.pipe(process.stderr);`;
    const [exe, args] = asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, '-e', script]] : [NODE, ['-e', script]];
    const r = spawnSync(exe, args, { cwd: w.proj, env: w.env, encoding: 'utf8', timeout: 10_000 });
    expect([r.status, r.stdout, r.stderr]).toEqual([0, 'in-process\n', '']);
    await new Promise((res) => setTimeout(res, 2500));
    expect(marks.filter((m) => fs.existsSync(m))).toEqual([]);
  });
  it('a jailed command killed by a signal is seen so, and the run before it was cleaned up', async () => {
    const c = spawn({ ro: ['.'] }, 'sh', ['-c', 'echo $TMPDIR; kill -9 $$'], { cwd: w.proj, env: w.env });
    let out = '';
    c.stdout!.on('data', (d) => (out += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => c.on('close', (a, b) => r([a, b])));
    expect([code, signal]).toEqual([null, 'SIGKILL']);
    const tmp = out.trim();
    if (tmp.startsWith('/tmp/jail-')) expect(fs.existsSync(tmp)).toBe(false);
  });
});

strictJail.describe('the CLI path is unchanged', () => {
  it('JAIL_SPAWN=cli in the environment of this process forces it', () => {
    const r = spawnSync(NODE, ['-e', `const c = require(${JSON.stringify(path.join(REPO, 'dist', 'index.js'))}).spawn({ ro: ['.'] }, 'true', [], { stdio: 'ignore' }); console.log(c.jailPath.path); c.on('close', (s) => console.log(s));`], { cwd: w.proj, env: { ...w.env, JAIL_SPAWN: 'cli' }, encoding: 'utf8' });
    expect(r.stdout).toBe('cli\n0\n');
  });
});

