/**
 * The namespace layer's contract, with hand-made plans: each runs
 * `/bin/sh -c …` in the layer through a miniature supervisor
 * (fixtures/ns-run.cjs: spawn, supervise, exit as the command did), as root
 * and as nobody, and what it sees and does is judged from outside. Where
 * the layer closes something the Landlock-only layer leaves open, the same
 * plan run without `namespaces` is the control that shows the hole.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ABI_TABLE, FS } from '../../src/landlock/abi.js';
import { explain } from '../../src/native/apply.js';
import type { NativeError, NativePlan, NativeViewEntry } from '../../src/native/binding.js';
import { Assembler, SeccompData, toBytes } from '../../src/seccomp/asm.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO } from '../../src/seccomp/consts.js';
import { compileSeccompFor, DEFAULT_RULES } from '../../src/seccomp/policy.js';
import { probeKernel } from '../kernel-facts.js';

const REPO = path.resolve(__dirname, '..', '..');
const RUN = path.join(REPO, 'test', 'native', 'fixtures', 'ns-run.cjs');
const NODE = process.execPath;

const kernel = probeKernel();
/** Landlock as this kernel has it: file system rights only (attrSize 8). */
const HANDLED = kernel.landlockAbi > 0 ? ABI_TABLE[Math.min(kernel.landlockAbi, ABI_TABLE.length) - 1]!.fs : 0n;
const RO = (FS.EXECUTE | FS.READ_FILE | FS.READ_DIR) & HANDLED;
const RW = HANDLED;
const DEV = (FS.READ_FILE | FS.WRITE_FILE | FS.IOCTL_DEV) & HANDLED;

type Who = 'root' | 'nobody';
const WHO: Who[] = ['root', 'nobody'];
const ID: Record<Who, number> = { root: 0, nobody: 65534 };

interface World {
  root: string;
  proj: string;
  outside: string;
}

/** A base directory (world-readable) with, per identity, a project and an
 *  outside directory owned by it, and a copy of the runtime nobody can read. */
let base: string;
const worlds = {} as Record<Who, World>;
let pkg: string;

beforeAll(() => {
  base = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), 'jail-ns-'));
  fs.chmodSync(base, 0o755);
  for (const who of WHO) {
    const root = path.join(base, who);
    const w: World = { root, proj: path.join(root, 'proj'), outside: path.join(root, 'outside') };
    fs.mkdirSync(path.join(w.proj, 'src'), { recursive: true });
    fs.mkdirSync(w.outside);
    fs.writeFileSync(path.join(w.proj, 'README.md'), 'project readme\n');
    fs.writeFileSync(path.join(w.proj, 'src', 'index.js'), 'console.log(1)\n');
    fs.writeFileSync(path.join(w.outside, 'keep.txt'), 'outside original\n');
    fs.writeFileSync(path.join(w.outside, 'one.txt'), 'one file\n');
    spawnSync('chown', ['-R', `${ID[who]}:${ID[who]}`, root]);
    worlds[who] = w;
  }
  pkg = path.join(base, 'pkg');
  for (const p of ['dist', 'package.json', 'build/Release/jail.node']) fs.cpSync(path.join(REPO, p), path.join(pkg, p), { recursive: true });
  fs.cpSync(RUN, path.join(pkg, 'ns-run.cjs'));
  spawnSync('chmod', ['-R', 'a+rX', pkg]);
});
afterAll(() => fs.rmSync(base, { recursive: true, force: true }));

const id = (p: string) => {
  const st = fs.statSync(p, { bigint: true });
  return { dev: st.dev, ino: st.ino };
};

/** What any program needs, as the machine lays it out: /usr and /etc
 *  read-only, the /bin-style symlinks (or directories), a few devices,
 *  a fresh /proc and devpts. */
function systemView(): NativeViewEntry[] {
  const view: NativeViewEntry[] = [{ kind: 'bind', path: '/usr', readOnly: true, access: RO, ...id('/usr') }];
  for (const p of ['/bin', '/sbin', '/lib', '/lib64', '/lib32']) {
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (st?.isSymbolicLink()) view.push({ kind: 'symlink', path: p, target: fs.readlinkSync(p) });
    else if (st?.isDirectory()) view.push({ kind: 'bind', path: p, readOnly: true, access: RO });
  }
  view.push({ kind: 'bind', path: '/etc', readOnly: true, access: RO });
  for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty']) view.push({ kind: 'bind', path: `/dev/${d}`, readOnly: false, device: true, access: DEV });
  view.push({ kind: 'proc', path: '/proc', access: RO }, { kind: 'devpts', path: '/dev/pts', access: RO }, { kind: 'symlink', path: '/dev/ptmx', target: 'pts/ptmx' });
  return view;
}

interface PlanOptions {
  who: Who;
  view?: NativeViewEntry[];
  cwd?: string;
  net?: boolean;
  /** Extra rules in landlock.paths (which the layer ignores). */
  paths?: Array<{ path: string; access: bigint }>;
}

/** A plan that runs `sh -c script` in the namespace layer. */
function nsPlan(script: string, o: PlanOptions): NativePlan {
  const cwd = o.cwd ?? '/';
  return {
    landlock: HANDLED ? { attrSize: 8, handledFs: HANDLED, handledNet: 0n, scoped: 0n, restrictFlags: 0, paths: o.paths ?? [], ports: [] } : undefined,
    namespaces: { uid: ID[o.who], gid: ID[o.who], net: o.net ?? false, cwd, view: [...systemView(), ...(o.view ?? [])] },
    dropCaps: true,
    keepFds: [],
    file: '/bin/sh',
    argv: ['sh', '-c', script],
    envp: ['PATH=/usr/bin:/bin', 'LANG=C'],
  };
}

/** The same plan in the Landlock-only layer: each bind and proc entry a
 *  path rule on its source (the control that shows what is open there). */
function fallback(p: NativePlan): NativePlan {
  const rules = p.namespaces!.view.flatMap((e) =>
    e.kind === 'bind' ? [{ path: e.source ?? e.path, access: e.access }] : e.kind === 'proc' ? [{ path: '/proc', access: e.access }] : [],
  );
  return { ...p, namespaces: undefined, landlock: p.landlock && { ...p.landlock, paths: rules.filter((r) => r.access !== 0n) } };
}

const toJson = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? `${v}n` : v));

interface Ran extends SpawnSyncReturns<string> {
  /** What the jail reported when it failed (status 125). */
  failure?: NativeError;
}

/** How to run the miniature supervisor as `who`. */
function runner(who: Who, extra: string[] = []): [string, string[], NodeJS.ProcessEnv] {
  const env = { PATH: process.env.PATH, NS_PLAN: '' } as NodeJS.ProcessEnv;
  if (who === 'root') return [NODE, [RUN, ...extra], env];
  return ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, path.join(pkg, 'ns-run.cjs'), ...extra], { ...env, JAIL_ROOT: pkg }];
}

/** `[...prefix, node, -e, script]` as `who`: its stdout, parsed. */
function nodeAs(who: Who, prefix: string[], script: string, env: NodeJS.ProcessEnv = {}): unknown {
  const argv = [...(who === 'nobody' ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : []), ...prefix, NODE, '-e', script];
  const r = spawnSync(argv[0]!, argv.slice(1), { env: { PATH: process.env.PATH, ...env }, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

/** The binding as `who` can load it. */
const bindingFor = (who: Who) => JSON.stringify(path.join(who === 'root' ? REPO : pkg, 'dist', 'native', 'binding.js'));

function run(plan: NativePlan, who: Who, opts: { input?: string; extra?: string[]; env?: NodeJS.ProcessEnv } = {}): Ran {
  const [cmd, args, env] = runner(who, opts.extra);
  const r = spawnSync(cmd, args, { env: { ...env, NS_PLAN: toJson(plan), ...opts.env }, input: opts.input ?? '', encoding: 'utf8', timeout: 20_000 }) as Ran;
  const m = /^jail-error: (.*)$/m.exec(r.stderr);
  if (m) r.failure = JSON.parse(m[1]!) as NativeError;
  return r;
}

/** A supervisor started for a test, killed when the test ends however it
 *  ends (a timed-out test never reaches its finally): the init dies with
 *  it, and the kernel ends the rest of the jail. */
function started<T extends ChildProcess>(child: T): T {
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** A bind with the identity its source has now (unless given). */
const bind = (p: string, readOnly: boolean, access: bigint, extra: Partial<Extract<NativeViewEntry, { kind: 'bind' }>> = {}): NativeViewEntry => ({
  kind: 'bind',
  path: p,
  readOnly,
  access,
  ...(extra.dev === undefined ? id(extra.source ?? p) : {}),
  ...extra,
});

const modeOf = (p: string) => (fs.statSync(p).mode & 0o7777).toString(8);

describe('probe()', () => {
  it.each(WHO)('reports that the layer can run here, as %s', (who) => {
    expect(nodeAs(who, [], `process.stdout.write(JSON.stringify(require(${bindingFor(who)}).loadAddon().probe().namespaces))`)).toEqual({ ok: true, errno: 0, code: null, step: null });
  });
});

describe.each(WHO)('as %s', (who) => {
  let w: World;
  beforeAll(() => {
    w = worlds[who];
  });

  describe('processes: the command sees only its own', () => {
    it('ids read as outside; PID 1 is the init, $$ is 2, /proc lists only the jail', () => {
      const r = run(nsPlan('id -u; id -g; echo $$; cat /proc/1/comm; ls /proc | grep -E "^[0-9]+$" | sort -n | tr "\\n" " "', { who }), who);
      const [uid, gid, self, init, list] = r.stdout.split('\n');
      expect([uid, gid, self, init, r.status]).toEqual([String(ID[who]), String(ID[who]), '2', 'jail-init', 0]);
      const pids = list!.trim().split(' ').map(Number);
      expect(pids.slice(0, 2)).toEqual([1, 2]); // then sh's pipeline: ls, grep, sort, tr
      expect(Math.max(...pids)).toBeLessThan(10);
    });

    it('a password on the command line of a process outside is not seen (the Landlock-only layer shows it)', () => {
      const marker = `--password=FAKE-${process.pid}-${who}`;
      const outside = spawn('sh', ['-c', 'sleep 30', 'sh', marker], { stdio: 'ignore' });
      try {
        const script = 'cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "';
        expect(run(nsPlan(script, { who }), who).stdout).not.toContain(marker);
        expect(run(fallback(nsPlan(script, { who })), who).stdout).toContain(marker);
      } finally {
        outside.kill('SIGKILL');
      }
    });

    it('the init shows none of the supervisor: no argv in /proc/1/cmdline, no /proc/1/environ', () => {
      const secret = `--token=SUPERVISOR-${process.pid}`;
      const r = run(nsPlan('tr "\\0" " " < /proc/1/cmdline; echo; cat /proc/1/environ; echo "environ=$?"', { who }), who, { extra: [secret] });
      // the exec'd helper's own argv (report fd, command pid, flags: PID namespace, and stops reported for the CLI); the forked init's is blanked
      expect(r.stdout).toMatch(/^jail-init( \d+ \d+ 3)?\s*\nenviron=1\n$/);
      expect(r.stdout + r.stderr).not.toContain(secret);
    });
  });

  describe('what is not in the view does not exist', () => {
    it('a cover hides what it covers; one whose name has gone since the plan was made is skipped, not a failure', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-covers-'));
      onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, 'secret.txt'), 'SECRET-COVERED\n');
      const covers: NativeViewEntry[] = [
        { kind: 'empty', path: `${dir}/secret.txt`, isDir: false, access: 0n },
        { kind: 'empty', path: `${dir}/gone.txt`, isDir: false, access: 0n }, // removed since the scan
        { kind: 'empty', path: `${dir}/gone.d`, isDir: true, access: 0n },
      ];
      const r = run(nsPlan(`cat ${dir}/secret.txt; echo rc=$?; ls ${dir}`, { who, view: [bind(dir, true, RO), ...covers] }), who);
      expect([r.failure, r.status]).toEqual([undefined, 0]);
      expect(r.stdout).toBe('rc=0\nsecret.txt\n'); // empty, and nothing made for the names that are gone
    });
    it('a hidden path’s cover, with its identity: over that object only; gone or another object at the name: ESTALE, nothing ran', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-hidden-'));
      onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, '.env'), 'SECRET-HIDDEN\n');
      const env = id(path.join(dir, '.env'));
      const cover = (p: string, ident: { dev: bigint; ino: bigint }): NativeViewEntry => ({ kind: 'empty', path: p, isDir: false, access: 0n, ...ident });
      const ok = run(nsPlan(`cat ${dir}/.env; echo rc=$?`, { who, view: [bind(dir, true, RO), cover(`${dir}/.env`, env)] }), who);
      expect([ok.failure, ok.status, ok.stdout]).toEqual([undefined, 0, 'rc=0\n']);
      // Renamed away since the plan (with its directory, to come back later).
      fs.renameSync(path.join(dir, '.env'), path.join(dir, 'elsewhere'));
      const gone = run(nsPlan('echo RAN', { who, view: [bind(dir, true, RO), cover(`${dir}/.env`, env)] }), who);
      expect(gone.failure).toMatchObject({ code: 'ESTALE', step: 'view', path: `${dir}/.env` });
      expect(gone.stdout ?? '').not.toContain('RAN');
      // Another file at the name: the hidden one would be left uncovered.
      fs.writeFileSync(path.join(dir, '.env'), 'decoy\n');
      const other = run(nsPlan('echo RAN', { who, view: [bind(dir, true, RO), cover(`${dir}/.env`, env)] }), who);
      expect(other.failure).toMatchObject({ code: 'ESTALE', step: 'view', path: `${dir}/.env` });
    });
    it('stat, chmod, chdir and touch of a file outside get ENOENT, and it is unchanged (the Landlock-only layer lets chmod through)', () => {
      const keep = path.join(w.outside, 'keep.txt');
      const script = `stat -c %a ${keep}; chmod 600 ${keep}; bash -c "cd ${w.outside}"; touch ${w.outside}/new; true`;
      const r = run(nsPlan(script, { who }), who);
      expect(r.stderr.match(/No such file or directory/g)).toHaveLength(4);
      expect([modeOf(keep), fs.existsSync(path.join(w.outside, 'new'))]).toEqual(['644', false]);
      // Control: in the Landlock-only layer the file is there, and chmod works.
      expect(run(fallback(nsPlan(`stat -c %a ${keep}; chmod 600 ${keep}`, { who })), who).stdout).toBe('644\n');
      expect(modeOf(keep)).toBe('600');
      fs.chmodSync(keep, 0o644);
    });
  });

  describe('binds', () => {
    it('read-only: writing and chmod get EROFS, and the file outside is unchanged (the Landlock-only layer lets chmod through)', () => {
      const readme = path.join(w.proj, 'README.md');
      const view = [bind(w.proj, true, RO)];
      const r = run(nsPlan('echo x >> README.md; chmod 600 README.md; rm README.md; true', { who, view, cwd: w.proj }), who);
      expect(r.stderr.match(/Read-only file system/g)).toHaveLength(3);
      expect([fs.readFileSync(readme, 'utf8'), modeOf(readme)]).toEqual(['project readme\n', '644']);
      run(fallback(nsPlan(`chmod 600 ${readme}`, { who, view, cwd: w.proj })), who);
      expect(modeOf(readme)).toBe('600');
      fs.chmodSync(readme, 0o644);
    });

    it('writable: what the command writes is there outside', () => {
      const r = run(nsPlan('echo hello > out.txt && mkdir d && echo ok', { who, view: [bind(w.outside, false, RW)], cwd: w.outside }), who);
      expect(r.stdout).toBe('ok\n');
      expect(fs.readFileSync(path.join(w.outside, 'out.txt'), 'utf8')).toBe('hello\n');
      expect(fs.statSync(path.join(w.outside, 'd')).isDirectory()).toBe(true);
      fs.rmSync(path.join(w.outside, 'out.txt'));
      fs.rmSync(path.join(w.outside, 'd'), { recursive: true });
    });

    it('nested, in plan order: the project read-only, src writable on top', () => {
      const view = [bind(w.proj, true, RO), bind(path.join(w.proj, 'src'), false, RW)];
      const r = run(nsPlan('echo x >> README.md; echo new > src/new.js && echo wrote', { who, view, cwd: w.proj }), who);
      expect(r.stdout).toBe('wrote\n');
      expect(r.stderr).toMatch(/Read-only file system/);
      expect(fs.readFileSync(path.join(w.proj, 'src', 'new.js'), 'utf8')).toBe('new\n');
      expect(fs.readFileSync(path.join(w.proj, 'README.md'), 'utf8')).toBe('project readme\n');
      fs.rmSync(path.join(w.proj, 'src', 'new.js'));
    });

    it('a single file: only it exists in its directory', () => {
      const one = path.join(w.outside, 'one.txt');
      const r = run(nsPlan(`cat ${one}; test -e ${w.outside}/keep.txt || echo no-sibling`, { who, view: [bind(one, true, FS.READ_FILE & HANDLED)] }), who);
      expect(r.stdout).toBe('one file\nno-sibling\n');
    });

    it('a source other than the path: the object outside appears at the path in the view', () => {
      const r = run(nsPlan('cat /home/someone/.gitconfig', { who, view: [bind('/home/someone/.gitconfig', true, FS.READ_FILE & HANDLED, { source: path.join(w.outside, 'one.txt') })] }), who);
      expect([r.stdout, r.status]).toEqual(['one file\n', 0]);
    });

    it('device nodes stay usable', () => {
      const r = run(nsPlan('echo x > /dev/null && echo null-ok; head -c 1 /dev/zero > /dev/full; head -c 4 /dev/urandom | wc -c', { who }), who);
      expect(r.stdout).toBe('null-ok\n4\n');
      expect(r.stderr).toMatch(/No space left on device/);
    });
  });

  describe('a spawn in two halves, gated, as the CLI runs a stored plan (NS_GATE in fixtures/ns-run.cjs)', () => {
    let n = 0;
    it.each(['namespaces', 'landlock'])('%s: nothing of the file system is looked at before spawnView: a directory made 200 ms after the start is granted; ungated, the same plan fails', (layer) => {
      const dir = path.join(w.outside, `gated-${n++}`);
      const entry: NativeViewEntry = { kind: 'bind', path: dir, readOnly: false, access: RW }; // no identity: made later
      const plan = nsPlan(`echo made-ready > ${dir}/out.txt`, { who, view: [entry] });
      const p = layer === 'namespaces' ? plan : fallback(plan);
      const r = run(p, who, { env: { NS_GATE: dir } });
      expect([r.failure, r.status]).toEqual([undefined, 0]);
      expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('made-ready\n');
      fs.rmSync(dir, { recursive: true });
      // The control: started at once, the directory is not there yet.
      const u = run(p, who);
      expect(u.failure).toMatchObject({ code: 'ENOENT', path: dir, step: layer === 'namespaces' ? 'view' : 'landlock-ruleset' });
      expect(fs.existsSync(dir)).toBe(false);
    });

    it.each(['namespaces', 'landlock'])('%s: spawnFinish(false) before spawnView ends it having run nothing, and reaps it', (layer) => {
      const marker = path.join(w.outside, `never-${n++}`);
      const plan = nsPlan(`echo ran > ${marker}`, { who, view: [bind(w.outside, false, RW)] });
      const r = run(layer === 'namespaces' ? plan : fallback(plan), who, { env: { NS_GATE: path.join(w.outside, 'unused'), NS_GATE_ABORT: '1' } });
      expect([r.stdout, r.stderr, r.status]).toEqual(['seen=0\n', '', 0]);
      expect(fs.existsSync(marker)).toBe(false);
      expect(fs.existsSync(path.join(w.outside, 'unused'))).toBe(false);
    });

    // The CLI's stored run adds root's /etc rule entries itself, once its
    // checks agree, while the init builds the rest of the view.
    it('the rule entries are the caller\'s to add (spawnRules): they grant as before; one whose object was swapped is ESTALE at its path and nothing ran; without spawnRules nothing runs', () => {
      const readme = path.join(w.proj, 'README.md');
      const marker = path.join(w.outside, `gated-rule-ran-${who}`);
      const gate = () => ({ NS_GATE: path.join(w.outside, `gated-r-${n++}`) });
      fs.rmSync(marker, { force: true });
      const good: NativeViewEntry[] = [bind(w.proj, true, FS.READ_DIR & HANDLED), { kind: 'rule', path: readme, access: FS.READ_FILE & HANDLED, ...id(readme) }];
      const r = run(nsPlan('cat README.md; cat src/index.js', { who, view: good, cwd: w.proj }), who, { env: gate() });
      expect(r.stdout).toBe('project readme\n');
      expect(r.stderr).toMatch(/src\/index.js: Permission denied/);
      const swapped: NativeViewEntry[] = [good[0]!, { kind: 'rule', path: readme, access: FS.READ_FILE & HANDLED, ...id('/etc/hostname') }, bind(w.outside, false, RW)];
      const f = run(nsPlan(`touch ${marker}`, { who, view: swapped, cwd: w.proj }), who, { env: gate() });
      expect(f.failure).toMatchObject({ code: 'ESTALE', step: 'view', path: readme });
      expect(f.status).toBe(125);
      expect(fs.existsSync(marker)).toBe(false);
      const ok: NativeViewEntry[] = [...good, bind(w.outside, false, RW)];
      const skipped = run(nsPlan(`touch ${marker}`, { who, view: ok, cwd: w.proj }), who, { env: { ...gate(), NS_NO_RULES: '1' } });
      expect([skipped.failure?.code, skipped.status]).toEqual(['ECANCELED', 125]);
      expect(fs.existsSync(marker)).toBe(false);
      // the control: the same plan, its rules added, touches it
      expect(run(nsPlan(`touch ${marker}`, { who, view: ok, cwd: w.proj }), who, { env: gate() }).status).toBe(0);
      expect(fs.existsSync(marker)).toBe(true);
    });
  });

  describe('symlinks and directories of the skeleton', () => {
    it('a symlink is made where nothing is, and an existing path is kept', () => {
      const link = fs.lstatSync('/bin').isSymbolicLink() ? fs.readlinkSync('/bin') : null;
      const view: NativeViewEntry[] = [{ kind: 'symlink', path: '/usr', target: 'nowhere' }, { kind: 'symlink', path: '/opt/tool', target: '/usr/bin/env' }];
      const r = run(nsPlan('readlink /bin; test -d /usr && echo usr-kept; readlink /opt/tool; /opt/tool echo via-link', { who, view }), who);
      expect(r.stdout).toBe(`${link ? `${link}\n` : ''}usr-kept\n/usr/bin/env\nvia-link\n`);
    });

    it('the skeleton is read-only: nothing can be made beside the grants', () => {
      const r = run(nsPlan('mkdir /planted; touch /dev/planted; echo done', { who, view: [{ kind: 'dir', path: '/work' }], cwd: '/work' }), who);
      expect(r.stdout).toBe('done\n');
      expect(r.stderr.match(/Read-only file system/g)).toHaveLength(2);
    });
  });

  describe('Landlock rules come from the view entries', () => {
    it('a bind without read rights: the directory lists, its files do not open', () => {
      const r = run(nsPlan('ls; cat README.md', { who, view: [bind(w.proj, true, FS.READ_DIR & HANDLED)], cwd: w.proj }), who);
      expect(r.stdout).toBe('README.md\nsrc\n');
      expect(r.stderr).toMatch(/README.md: Permission denied/);
    });

    it('landlock.paths is ignored in this layer', () => {
      const r = run(nsPlan('cat /etc/hostname >/dev/null && echo read', { who, view: [bind(w.outside, true, 0n)], paths: [{ path: w.outside, access: RO }] }), who);
      expect(r.status).toBe(0);
      const denied = run(nsPlan(`cat ${w.outside}/keep.txt`, { who, view: [bind(w.outside, true, 0n)], paths: [{ path: w.outside, access: RO }] }), who);
      expect(denied.stderr).toMatch(/Permission denied/);
    });

    it('a rule entry: finer rights inside a bind, without a mount of its own', () => {
      const view: NativeViewEntry[] = [
        bind(w.proj, true, FS.READ_DIR & HANDLED),
        { kind: 'rule', path: path.join(w.proj, 'README.md'), access: FS.READ_FILE & HANDLED, ...id(path.join(w.proj, 'README.md')) },
      ];
      const r = run(nsPlan('cat README.md; cat src/index.js; grep -c " /tmp/" /proc/self/mounts', { who, view, cwd: w.proj }), who);
      expect(r.stdout).toBe('project readme\n1\n'); // one mount for the project
      expect(r.stderr).toMatch(/src\/index.js: Permission denied/);
    });

    it('a rule entry whose object was swapped: ESTALE, and nothing ran', () => {
      const readme = path.join(w.proj, 'README.md');
      const view: NativeViewEntry[] = [bind(w.proj, true, RO), { kind: 'rule', path: readme, access: FS.READ_FILE & HANDLED, ...id('/etc/hostname') }];
      expect(run(nsPlan('true', { who, view, cwd: w.proj }), who).failure).toMatchObject({ code: 'ESTALE', step: 'view', syscall: 'openat2', path: readme });
    });

    // The library's warm init (native/warm.c): its spawn adds the rule
    // entries to the ruleset itself while the init builds the rest.
    it("with the library's warm init, the supervisor adds the rule entries while the init builds the rest: they grant as before; one whose object was swapped is ESTALE, and nothing ran", () => {
      const readme = path.join(w.proj, 'README.md');
      const marker = path.join(w.outside, `warm-rule-ran-${who}`);
      fs.rmSync(marker, { force: true });
      const good: NativeViewEntry[] = [bind(w.proj, true, FS.READ_DIR & HANDLED), { kind: 'rule', path: readme, access: FS.READ_FILE & HANDLED, ...id(readme) }];
      const first = toJson(nsPlan('true', { who, view: good, cwd: w.proj }));
      const r = run(nsPlan('cat README.md; cat src/index.js', { who, view: good, cwd: w.proj }), who, { env: { NS_CHILD: '1', NS_PLAN_FIRST: first } });
      expect(r.stderr).toMatch(/^warm=1$/m);
      expect(r.stdout).toBe('project readme\n');
      expect(r.stderr).toMatch(/src\/index.js: Permission denied/);
      const swapped: NativeViewEntry[] = [good[0]!, { kind: 'rule', path: readme, access: FS.READ_FILE & HANDLED, ...id('/etc/hostname') }, bind(w.outside, false, RW)];
      const f = run(nsPlan(`touch ${marker}`, { who, view: swapped, cwd: w.proj }), who, { env: { NS_CHILD: '1', NS_PLAN_FIRST: first } });
      expect(f.stderr).toMatch(/^warm=1$/m);
      expect(f.failure).toMatchObject({ code: 'ESTALE', step: 'view', path: readme });
      expect(f.status).toBe(125);
      expect(fs.existsSync(marker)).toBe(false);
      // the control: the same plan with the rule's own identity touches it
      const ok: NativeViewEntry[] = [...good, bind(w.outside, false, RW)];
      expect(run(nsPlan(`touch ${marker}`, { who, view: ok, cwd: w.proj }), who, { env: { NS_CHILD: '1', NS_PLAN_FIRST: first } }).status).toBe(0);
      expect(fs.existsSync(marker)).toBe(true);
    });

    it("a 'rules' entry (compactRules: apply.ts) is a rule per name, each with its identity and rights", () => {
      const readme = id(path.join(w.proj, 'README.md'));
      const src = id(path.join(w.proj, 'src'));
      const rules = `${FS.READ_FILE & HANDLED} ${readme.ino} README.md\0${FS.READ_DIR & HANDLED} ${src.ino} src`;
      const view: NativeViewEntry[] = [bind(w.proj, true, FS.READ_DIR & HANDLED), { kind: 'rules', path: w.proj, dev: readme.dev, rules }];
      const r = run(nsPlan('cat README.md; ls src; cat src/index.js', { who, view, cwd: w.proj }), who);
      expect(r.stdout).toBe('project readme\nindex.js\n');
      expect(r.stderr).toMatch(/src\/index.js: Permission denied/);
      // One whose object is not the one named: ESTALE at its own path.
      const other = id('/etc/hostname');
      const swapped = `${FS.READ_FILE & HANDLED} ${readme.ino} README.md\0${FS.READ_DIR & HANDLED} ${other.ino} src`;
      const f = run(nsPlan('true', { who, view: [view[0]!, { kind: 'rules', path: w.proj, dev: readme.dev, rules: swapped }], cwd: w.proj }), who);
      expect(f.failure).toMatchObject({ code: 'ESTALE', step: 'view', path: path.join(w.proj, 'src') });
    });

    it('a dir entry may carry a rule: the skeleton lists', () => {
      const r = run(nsPlan('ls /dev | tr "\\n" " "', { who, view: [{ kind: 'dir', path: '/dev', access: FS.READ_DIR & HANDLED }] }), who);
      expect(r.stdout).toBe('full null ptmx pts random tty urandom zero ');
    });
  });

  describe('the object checked is the object mounted', () => {
    /** Take the identity of `dir`, then let `swap` change it before spawn;
     *  the command would leave a marker in a writable bind. */
    function swapped(swap: (dir: string) => void, bindPath = (d: string) => d) {
      const dir = fs.mkdtempSync(path.join(w.root, 'swap-'));
      fs.mkdirSync(path.join(dir, 'src'));
      const writable = fs.mkdtempSync(path.join(w.root, 'out-'));
      spawnSync('chown', ['-R', `${ID[who]}:${ID[who]}`, dir, writable]);
      const src = path.join(dir, 'src');
      const view = [bind(bindPath(src), true, RO, { ...id(src) }), bind(writable, false, RW)];
      swap(dir);
      const r = run(nsPlan(`touch ${writable}/ran`, { who, view }), who);
      return { r, ran: fs.existsSync(path.join(writable, 'ran')), src: bindPath(src) };
    }

    it('swapped for a symlink: ELOOP, and nothing ran', () => {
      const { r, ran, src } = swapped((dir) => {
        fs.renameSync(path.join(dir, 'src'), path.join(dir, 'real'));
        fs.symlinkSync('real', path.join(dir, 'src'));
      });
      expect([r.status, ran]).toEqual([125, false]);
      expect(r.failure).toMatchObject({ code: 'ELOOP', step: 'view', syscall: 'openat2', path: src });
    });

    it('swapped for another directory: ESTALE, and nothing ran', () => {
      const { r, ran, src } = swapped((dir) => {
        fs.renameSync(path.join(dir, 'src'), path.join(dir, 'old'));
        fs.mkdirSync(path.join(dir, 'src'));
      });
      expect([r.status, ran]).toEqual([125, false]);
      expect(r.failure).toMatchObject({ code: 'ESTALE', step: 'view', syscall: 'openat2', path: src });
    });

    it('a symlink in a parent of the source: ELOOP, and nothing ran', () => {
      const { r, ran } = swapped(
        (dir) => fs.symlinkSync('.', path.join(dir, 'link')),
        (src) => path.join(path.dirname(src), 'link', 'src'),
      );
      expect([r.status, ran]).toEqual([125, false]);
      expect(r.failure).toMatchObject({ code: 'ELOOP', step: 'view', syscall: 'openat2' });
    });
  });

  describe.each([
    ['ENOSYS', 38],
    ['EPERM', 1],
  ])('without openat2 (an outer filter refuses it with %s)', (_, errno) => {
    /** The plan, run by the miniature supervisor under a filter that
     *  refuses openat2, installed by this addon's exec(). */
    function underFilter(plan: NativePlan): Ran {
      const a = new Assembler();
      a.ld(SeccompData.nr).jeq(437 /* openat2, every arch */, { then: 'refuse' }).ret(SECCOMP_RET_ALLOW);
      a.label('refuse').ret(SECCOMP_RET_ERRNO | errno);
      const filter = Buffer.from(toBytes(a.assemble())).toString('base64');
      const [cmd, args, env] = runner(who);
      const outer = `require(${bindingFor(who)}).loadAddon().exec({ seccomp: new Uint8Array(Buffer.from(${JSON.stringify(filter)}, 'base64')), dropCaps: false, keepFds: [], file: process.argv[1], argv: process.argv.slice(1), envp: Object.entries(process.env).map(([k, v]) => k + '=' + v) })`;
      const prefix = cmd === NODE ? [] : [cmd, ...args.slice(0, -2)]; // setpriv …
      const argv = [...prefix, NODE, '-e', outer, NODE, args[args.length - 1]!];
      const r = spawnSync(argv[0]!, argv.slice(1), { env: { ...env, NS_PLAN: toJson(plan) }, encoding: 'utf8' }) as Ran;
      const m = /^jail-error: (.*)$/m.exec(r.stderr);
      if (m) r.failure = JSON.parse(m[1]!) as NativeError;
      return r;
    }

    it('the view is built all the same', () => {
      const r = underFilter(nsPlan('cat README.md; echo x >> README.md; true', { who, view: [bind(w.proj, true, RO)], cwd: w.proj }));
      expect([r.stdout, r.status]).toEqual(['project readme\n', 0]);
      expect(r.stderr).toMatch(/Read-only file system/);
    });

    it('a source swapped for a symlink is still refused: ELOOP at open', () => {
      const dir = fs.mkdtempSync(path.join(w.root, 'swap-'));
      fs.mkdirSync(path.join(dir, 'src'));
      spawnSync('chown', ['-R', `${ID[who]}:${ID[who]}`, dir]);
      const view = [bind(path.join(dir, 'src'), true, RO)];
      fs.renameSync(path.join(dir, 'src'), path.join(dir, 'real'));
      fs.symlinkSync('real', path.join(dir, 'src'));
      expect(underFilter(nsPlan('true', { who, view })).failure).toMatchObject({ code: 'ELOOP', step: 'view', syscall: 'open', path: path.join(dir, 'src') });
    });
  });

  describe('failures are coded errors, before anything ran', () => {
    it('a working directory not in the view: chdir ENOENT', () => {
      const r = run(nsPlan('true', { who, cwd: '/no/such/dir' }), who);
      expect(r.failure).toMatchObject({ code: 'ENOENT', step: 'view', syscall: 'chdir', path: '/no/such/dir' });
    });
    it('a mount point missing inside a read-only bind: EROFS', () => {
      const r = run(nsPlan('true', { who, view: [bind(w.proj, true, RO), bind(path.join(w.proj, 'missing'), true, RO, { source: w.outside })] }), who);
      expect(r.failure).toMatchObject({ code: 'EROFS', step: 'view', syscall: 'mkdirat', path: path.join(w.proj, 'missing') });
    });
    it('a command not in the view: ENOENT at execve, step exec, as in the other layer (the CLI exits 127)', () => {
      const r = run({ ...nsPlan('true', { who }), file: '/opt/missing/tool' }, who);
      expect(r.failure).toMatchObject({ code: 'ENOENT', step: 'exec', syscall: 'execve', path: '/opt/missing/tool' });
    });
    it('a source that does not exist: ENOENT with its path', () => {
      const r = run(nsPlan('true', { who, view: [{ kind: 'bind', path: '/x', source: '/no/such/source', readOnly: true, access: RO }] }), who);
      expect(r.failure).toMatchObject({ code: 'ENOENT', step: 'view', syscall: 'openat2', path: '/no/such/source' });
    });
  });

  describe('process semantics, as in the Landlock-only layer', () => {
    it('exit status, and death by signal', () => {
      expect(run(nsPlan('exit 3', { who }), who).status).toBe(3);
      expect(run(nsPlan('true', { who }), who).status).toBe(0);
      expect(run(nsPlan('kill -TERM $$; sleep 5', { who }), who).signal).toBe('SIGTERM');
    });

    it('stdin passes through, and the command has fds 0-2 only', () => {
      expect(run(nsPlan('cat', { who }), who, { input: 'piped in\n' }).stdout).toBe('piped in\n');
      expect(run(nsPlan('ls /proc/self/fd | tr "\\n" " "', { who }), who).stdout).toBe('0 1 2 3 ');
    });

    it('SIGTERM sent to the supervisor reaches the command', async () => {
      const [cmd, args, env] = runner(who);
      const script = 'trap "echo got-term; exit 7" TERM; echo ready; while :; do sleep 0.05; done';
      const child = started(spawn(cmd, args, { env: { ...env, NS_PLAN: toJson(nsPlan(script, { who })) }, stdio: ['ignore', 'pipe', 'pipe'] }));
      let out = '';
      await new Promise<void>((resolve) => child.stdout.on('data', (d) => (out += String(d)).includes('ready') && resolve()));
      child.kill('SIGTERM');
      const [code] = await new Promise<[number | null]>((r) => child.on('close', (c) => r([c])));
      expect([out, code]).toEqual(['ready\ngot-term\n', 7]);
    });

    it.each([
      ['the namespace layer', false],
      ['the Landlock-only layer', true],
    ])('SIGTERM at any moment of start-up ends the jail at once (%s)', async (_, landlockOnly) => {
      // A signal that Node handles on another thread while the supervisor
      // starts the child was once lost: the jail then ran on. Sampled here.
      const [cmd, args, env] = runner(who);
      const plan = nsPlan('exec sleep 30', { who });
      const slow: number[] = [];
      for (let i = 0; i < 12; i++) {
        const t0 = Date.now();
        const child = started(spawn(cmd, args, { env: { ...env, NS_PLAN: toJson(landlockOnly ? fallback(plan) : plan) }, stdio: 'ignore' }));
        await new Promise((r) => setTimeout(r, 40 + Math.random() * 60)); // node's start-up is ~40 ms
        child.kill('SIGTERM');
        await new Promise((r) => child.on('close', r));
        if (Date.now() - t0 > 3_000) slow.push(i);
      }
      expect(slow).toEqual([]);
    });

    it('a signal sent to PID 1 from inside is dropped, not passed back to the command', () => {
      const r = run(nsPlan('trap "echo got-term; exit 7" TERM; kill -TERM 1; sleep 0.3; echo alive', { who }), who);
      expect([r.stdout, r.status]).toEqual(['alive\n', 0]);
    });

    it('killing the init ends the jail, and the supervisor shows SIGKILL', async () => {
      const marker = `42.${process.pid}${who.length}`;
      const [cmd, args, env] = runner(who);
      const child = started(spawn(cmd, args, { env: { ...env, NS_PRINT_PID: '1', NS_PLAN: toJson(nsPlan(`sleep ${marker} & exec sleep ${marker}`, { who })) }, stdio: ['ignore', 'ignore', 'pipe'] }));
      const init = await new Promise<number>((resolve) => child.stderr.on('data', (d) => /init=(\d+)/.test(String(d)) && resolve(Number(/init=(\d+)/.exec(String(d))![1]))));
      expect(await until(() => processesWith(marker).length === 2)).toBe(true);
      process.kill(init, 'SIGKILL');
      const [, signal] = await new Promise<[number | null, string | null]>((r) => child.on('close', (c, sig) => r([c, sig])));
      expect(signal).toBe('SIGKILL');
      expect(processesWith(marker)).toEqual([]);
    });

    it('Ctrl-C typed on a real terminal ends the command, and the shell sees SIGINT', async () => {
      const [cmd, args, env] = runner(who);
      const line = [cmd, ...args].map((a) => `'${a}'`).join(' ');
      const child = started(
        spawn('script', ['-qefc', `bash -c "trap '' INT; ${line}; echo status=\\$?"`, '/dev/null'], {
          env: { ...env, NS_PLAN: toJson(nsPlan('echo T=ready; exec sleep 30', { who })) },
          stdio: ['pipe', 'pipe', 'pipe'],
        }),
      );
      let out = '';
      await new Promise<void>((resolve) => child.stdout.on('data', (d) => (out += String(d)).includes('T=ready') && resolve()));
      child.stdin.write('\x03');
      await new Promise((r) => child.on('exit', r));
      expect(out).toMatch(/status=130/);
    });

    it('yes | … head -1 ends at once', () => {
      const [cmd, args, env] = runner(who);
      const t0 = Date.now();
      const r = spawnSync('sh', ['-c', `yes | ${[cmd, ...args].map((a) => `'${a}'`).join(' ')}; echo "status=$?"`], {
        env: { ...env, NS_PLAN: toJson(nsPlan('exec head -1', { who })) },
        encoding: 'utf8',
        timeout: 10_000,
      });
      expect(r.stdout).toBe('y\nstatus=0\n');
      expect(Date.now() - t0).toBeLessThan(5_000);
    });

    it('a background process is gone when the command exits, setsid or not', () => {
      const marker = `40.${process.pid}${who.length}`;
      const r = run(nsPlan(`sleep ${marker} & setsid sleep ${marker} & exit 0`, { who }), who);
      expect(r.status).toBe(0);
      expect(processesWith(marker)).toEqual([]);
    });

    it('kill -9 of the supervisor leaves nothing of the jail running', async () => {
      const marker = `41.${process.pid}${who.length}`;
      const [cmd, args, env] = runner(who);
      const child = started(spawn(cmd, args, { env: { ...env, NS_PLAN: toJson(nsPlan(`sleep ${marker} & setsid sleep ${marker} & echo started; exec sleep ${marker}`, { who })) }, stdio: ['ignore', 'pipe', 'ignore'] }));
      await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
      expect(await until(() => processesWith(marker).length === 3)).toBe(true);
      process.kill(child.pid!, 'SIGKILL'); // setpriv execs: the supervisor itself
      expect(await until(() => processesWith(marker).length === 0, 2_000)).toBe(true);
    });
  });

  describe('a network namespace', () => {
    it('has lo up, and the machine\'s loopback is out of reach', async () => {
      const net = await import('node:net');
      const server = net.createServer((s) => s.end('outside\n'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const port = (server.address() as { port: number }).port;
      try {
        const probe = `const n=require('net');const s=n.createServer(c=>c.end('inside')).listen(0,'127.0.0.1',()=>{n.connect(s.address().port,'127.0.0.1').on('data',d=>{console.log(String(d));n.connect(${port},'127.0.0.1').on('error',e=>{console.log(e.code);process.exit(0)}).on('data',d=>{console.log(String(d));process.exit(0)})})})`;
        const plan = nsPlan(`node -e "${probe}"`, { who, net: true });
        const r = await new Promise<string>((resolve) => {
          const [cmd, args, env] = runner(who);
          const c = started(spawn(cmd, args, { env: { ...env, NS_PLAN: toJson(plan) } }));
          let out = '';
          c.stdout.on('data', (d) => (out += d));
          c.on('close', () => resolve(out));
        });
        expect(r).toBe('inside\nECONNREFUSED\n');
      } finally {
        server.close();
      }
    });
  });

  describe('refusals, as they are met elsewhere', () => {
    /** Under `prefix` (a command that execs the rest), as `who`: the probe,
     *  and what spawn() of a small plan does. */
    function refused(prefix: string[]) {
      const plan = toJson(nsPlan('true', { who }));
      return nodeAs(who, prefix, `const addon = require(${bindingFor(who)}).loadAddon();
const plan = JSON.parse(${JSON.stringify(plan)}, (_, v) => (typeof v === 'string' && /^\\d+n$/.test(v) ? BigInt(v.slice(0, -1)) : v));
plan.namespaces.uid = process.geteuid(); plan.namespaces.gid = process.getegid(); // 0 under unshare -r
let spawned;
try { spawned = addon.supervise(addon.spawn(plan).pid); } catch (e) { spawned = { code: e.code, step: e.step, syscall: e.syscall, path: e.path }; }
process.stdout.write(JSON.stringify({ probe: addon.probe().namespaces, spawned }));`);
    }

    it('a jail in a jail: the outer filter refuses the namespaces; probe says so, spawn throws a coded error', () => {
      // The outer jail: this addon's exec() with jail's own default filter.
      const filter = Buffer.from(compileSeccompFor(DEFAULT_RULES, process.arch).bytes).toString('base64');
      const outer = `const a=require(${bindingFor(who)}).loadAddon();
a.exec({ seccomp: new Uint8Array(Buffer.from(${JSON.stringify(filter)}, 'base64')), dropCaps: true, keepFds: [], file: process.argv[1], argv: process.argv.slice(1), envp: ['PATH=' + process.env.PATH] })`;
      const r = refused([NODE, '-e', outer]);
      expect(r).toEqual({ probe: { ok: false, errno: -1, code: 'EPERM', step: 'clone' }, spawned: { code: 'EPERM', step: 'namespaces', syscall: 'clone' } });
    });

    it('user.max_user_namespaces=0 (in a user namespace of our own): ENOSPC at clone', () => {
      const r = refused(['unshare', '-Ur', 'sh', '-c', 'echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"', 'sh']);
      expect(r).toEqual({ probe: { ok: false, errno: -28, code: 'ENOSPC', step: 'clone' }, spawned: { code: 'ENOSPC', step: 'namespaces', syscall: 'clone' } });
    });

    it('a masked /proc (as Docker masks it): EPERM at fsmount, with the view step and path', () => {
      const r = refused(['unshare', '-Urm', '--propagation', 'private', 'sh', '-c', 'mount --bind /dev/null /proc/timer_list && exec "$@"', 'sh']);
      expect(r).toEqual({ probe: { ok: false, errno: -1, code: 'EPERM', step: 'fsmount' }, spawned: { code: 'EPERM', step: 'view', syscall: 'fsmount', path: '/proc' } });
    });
  });
});

describe('apply.ts words what the layer reports', () => {
  const words = (e: Partial<NativeError>) => {
    const x = explain({ message: '', name: 'Error', ...e } as NativeError, { file: '/bin/true', argv: ['true'], env: {} }) as Error & { hint?: string };
    return { message: x.message, hint: x.hint };
  };
  it('refused namespaces', () => {
    expect(words({ step: 'namespaces', syscall: 'clone', code: 'EPERM' })).toEqual({
      message: "cannot create the jail's namespaces: clone: EPERM (a seccomp profile, AppArmor, or a sysctl refuses user namespaces here); nothing ran.",
      hint: 'pass --no-namespaces to use the Landlock-only layer.',
    });
    expect(words({ step: 'namespaces', syscall: 'clone', code: 'ENOSPC' }).message).toMatch(/user.max_user_namespaces/);
  });
  it('a masked /proc', () => {
    expect(words({ step: 'view', syscall: 'fsmount', code: 'EPERM', path: '/proc' })).toEqual({
      message: "cannot build the jail's view: fsmount /proc: EPERM; nothing ran.",
      hint: "this system refuses a fresh /proc (a container's masked /proc does); pass --no-namespaces to use the Landlock-only layer.",
    });
  });
  it('a bind source swapped after the check reads as a swapped grant', () => {
    expect(words({ step: 'view', syscall: 'openat2', code: 'ELOOP', path: '/p/src' }).message).toBe('/p/src changed after jail checked it (it is now a symlink or another file); nothing ran.');
  });
});

describe('malformed plans', () => {
  const call = (fn: 'exec' | 'spawn', plan: string) => {
    const r = spawnSync(NODE, ['-e', `const a = require(${JSON.stringify(path.join(REPO, 'dist', 'native', 'binding.js'))}).loadAddon();
try { a.${fn}(${plan}) } catch (e) { process.stdout.write(JSON.stringify({ thrown: e.constructor.name, message: e.message })) }`], { encoding: 'utf8' });
    return JSON.parse(r.stdout) as { thrown: string; message: string };
  };
  const base = (ns: string) => `{ dropCaps: false, keepFds: [], file: '/bin/true', argv: ['true'], envp: [], namespaces: ${ns} }`;
  const ns = (over: string) => `{ uid: 0, gid: 0, net: false, cwd: '/', view: [], ${over} }`;
  it.each([
    ['plan.namespaces must be an object', base('7')],
    ['plan.namespaces.uid must be a number', base(ns("uid: 'x'"))],
    ['plan.namespaces.net must be a boolean', base(ns('net: 1'))],
    ['plan.namespaces.cwd must be an absolute path', base(ns("cwd: 'rel'"))],
    ['plan.namespaces.view[0].kind must be one of bind, dir, symlink, proc, devpts, tmpfs, rule, rules, empty, overlay', base(ns("view: [{ kind: 'union', path: '/' }]"))],
    ['plan.namespaces.view[0].dev must be a bigint or a number', base(ns("view: [{ kind: 'rules', path: '/etc', rules: '1 2 a' }]"))],
    ['plan.namespaces.view[0].path must be a directory other than /, without a trailing slash', base(ns("view: [{ kind: 'rules', path: '/', dev: 1n, rules: '1 2 a' }]"))],
    ...['', '1 2 a\0', '1 2 ', '1 2 a/b', '1 2 ..', 'x 2 a', '1  2 a', '1 2', '1 99999999999999999999 a'].map((rules) => [
      'plan.namespaces.view[0].rules must be "ACCESS INODE NAME" entries joined by NULs, each NAME one in the directory',
      base(ns(`view: [{ kind: 'rules', path: '/etc', dev: 1n, rules: ${JSON.stringify(rules)} }]`)),
    ]),
    ['plan.namespaces.view[0].isDir must be a boolean', base(ns("view: [{ kind: 'empty', path: '/a', access: 0n }]"))],
    ['plan.namespaces.view[0].layer must be an absolute path', base(ns("view: [{ kind: 'overlay', path: '/a', layer: 'rel', access: 0n }]"))],
    ['plan.namespaces.view[0].path must be an absolute path', base(ns("view: [{ kind: 'dir', path: 'x' }]"))],
    ['plan.namespaces.view[1].readOnly must be a boolean', base(ns("view: [{ kind: 'dir', path: '/a' }, { kind: 'bind', path: '/b', access: 1n }]"))],
    ['plan.namespaces.view[0].target must be a string', base(ns("view: [{ kind: 'symlink', path: '/a' }]"))],
    ['plan.namespaces.view[0].access must be a bigint or a number', base(ns("view: [{ kind: 'proc', path: '/proc' }]"))],
    ['plan.namespaces.view[0].ino must be a bigint or a number', base(ns("view: [{ kind: 'bind', path: '/b', readOnly: true, access: 1n, dev: 1n }]"))],
  ])('a malformed field is a TypeError that names it: %s', (message, plan) => {
    expect(call('spawn', plan)).toEqual({ thrown: 'TypeError', message });
  });
  it('exec() refuses a plan with namespaces: they need an init', () => {
    expect(call('exec', base(ns('')))).toEqual({ thrown: 'TypeError', message: 'plan.namespaces needs spawn(): exec() replaces this process and has no init' });
  });
});

/** Live processes with `marker` among their arguments. */
function processesWith(marker: string): number[] {
  return fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e)).filter((e) => {
    try {
      return fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').includes(marker);
    } catch {
      return false;
    }
  }).map(Number);
}

async function until(ok: () => boolean, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (ok()) return true;
  return ok();
}
