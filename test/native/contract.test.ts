/**
 * The addon's contract: probe() returns well-formed facts, and a malformed or
 * failing plan comes back as a coded error. Anything that could confine or
 * exec runs in a child process.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Assembler, SeccompData, toBytes } from '../../src/seccomp/asm.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO } from '../../src/seccomp/consts.js';

const REPO = path.resolve(__dirname, '..', '..');

/** Run `body` in a child node with `addon` loaded as src/native/binding.ts
 *  loads it (errors named there); it prints JSON. */
function inChild(body: string): unknown {
  const src = `const addon = require(${JSON.stringify(path.join(REPO, 'dist', 'native', 'binding.js'))}).loadAddon();
const out = (x) => process.stdout.write(JSON.stringify(x, (k, v) => typeof v === 'bigint' ? String(v) : v));
try { ${body} } catch (e) { out({ thrown: e.constructor.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, step: e.step, path: e.path }); }`;
  const r = spawnSync(process.execPath, ['-e', src], { cwd: REPO, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout);
}

const plan = (over: Record<string, unknown> = {}) =>
  JSON.stringify({
    dropCaps: false,
    keepFds: [],
    file: '/bin/true',
    argv: ['true'],
    envp: [],
    ...over,
  });

const ll = (over: Record<string, unknown> = {}) => ({
  attrSize: 8,
  handledFs: 1,
  handledNet: 0,
  scoped: 0,
  restrictFlags: 0,
  paths: [],
  ports: [],
  ...over,
});

describe('probe()', () => {
  it('returns well-formed kernel facts', () => {
    const p = inChild('out(addon.probe())') as Record<string, unknown>;
    expect(Number.isInteger(p.landlockAbi)).toBe(true);
    expect(p.landlockAbi as number).toBeGreaterThanOrEqual(0);
    expect(typeof p.seccomp).toBe('boolean');
    expect(typeof p.release).toBe('string');
    expect(p.landlockAbi === 0 ? typeof p.landlockError : p.landlockError).toBe(p.landlockAbi === 0 ? 'string' : null);
  });
});

describe('errno names', () => {
  it('the addon gives the errno number; binding.ts names it with Node\'s own table', () => {
    const bad = `{ ...${plan()}, landlock: { ...${JSON.stringify(ll())}, paths: [{ path: '/no/such/path', access: 1 }] } }`;
    const raw = inChild(`const raw = require('node-gyp-build')(${JSON.stringify(REPO)});
      try { raw.exec(${bad}) } catch (e) { out({ hasCode: 'code' in e, errno: e.errno, probe: raw.probe().landlockErrno }) }`);
    expect(raw).toEqual({ hasCode: false, errno: -2, probe: 0 });
    expect(inChild(`addon.exec(${bad})`)).toMatchObject({ code: 'ENOENT', errno: -2 });
  });
});

describe('exec() errors', () => {
  it('a path that does not exist: ENOENT at openat2, in step landlock-ruleset', () => {
    const e = inChild(`addon.exec({ ...${plan()}, landlock: { ...${JSON.stringify(ll())}, paths: [{ path: '/no/such/path', access: 1 }] } })`);
    expect(e).toMatchObject({ thrown: 'Error', code: 'ENOENT', errno: -2, syscall: 'openat2', step: 'landlock-ruleset', path: '/no/such/path' });
  });
  it('an optional rule (an entry beside a hidden path) that is gone is left out, and only that: the command runs; gone but not optional, ENOENT', () => {
    const rules = (optional: boolean) => `[{ path: '/usr', access: 1 }, { path: '/no/such/path', access: 1, optional: ${optional} }]`;
    const run = (optional: boolean) => inChild(`out(addon.supervise(addon.spawn({ ...${plan({ file: '/usr/bin/true' })}, landlock: { ...${JSON.stringify(ll())}, paths: ${rules(optional)} } }).pid))`);
    expect(run(true)).toEqual({ code: 0, signal: null });
    expect(run(false)).toMatchObject({ code: 'ENOENT', syscall: 'openat2', step: 'landlock-ruleset', path: '/no/such/path' });
    // There, but another object than the one checked: refused as any rule.
    const st = `const st = require('fs').statSync('/usr', { bigint: true });`;
    expect(inChild(`${st} addon.exec({ ...${plan()}, landlock: { ...${JSON.stringify(ll())}, paths: [{ path: '/etc', access: 1, optional: true, dev: st.dev, ino: st.ino }] } })`)).toMatchObject({ code: 'ESTALE', step: 'landlock-ruleset', path: '/etc' });
  });
  it('a right the kernel rejects on a file: EINVAL at landlock_add_rule', () => {
    const e = inChild(`addon.exec({ ...${plan()}, landlock: { ...${JSON.stringify(ll({ handledFs: 0xf }))}, paths: [{ path: '/etc/hostname', access: 8 }] } })`);
    expect(e).toMatchObject({ code: 'EINVAL', syscall: 'landlock_add_rule', step: 'landlock-ruleset', path: '/etc/hostname' });
  });
  it('a filter whose length is not a multiple of 8: EINVAL in step seccomp, before anything is applied', () => {
    const e = inChild(`addon.exec({ ...${plan()}, seccomp: new Uint8Array(12) })`);
    expect(e).toMatchObject({ code: 'EINVAL', step: 'seccomp' });
  });
  it('an attribute size the kernel has no struct for: TypeError', () => {
    const e = inChild(`addon.exec({ ...${plan()}, landlock: ${JSON.stringify(ll({ attrSize: 12 }))} })`);
    expect(e).toMatchObject({ thrown: 'TypeError' });
  });
  it('argv that is not strings: TypeError', () => {
    const e = inChild(`addon.exec({ ...${plan()}, argv: [1] })`);
    expect(e).toMatchObject({ thrown: 'TypeError' });
  });
  it.each([
    ['plan.landlock.paths[1].access must be a bigint or a number', `landlock: { ...${JSON.stringify(ll())}, paths: [{ path: '/', access: 1 }, { path: '/', access: 'x' }] }`],
    ['plan.landlock.paths[0].path must be a string', `landlock: { ...${JSON.stringify(ll())}, paths: [{ path: 7, access: 1 }] }`],
    ['plan.landlock.paths must be an array', `landlock: { ...${JSON.stringify(ll())}, paths: 'x' }`],
    ['plan.landlock.ports[0] must be an object', `landlock: { ...${JSON.stringify(ll())}, ports: [null] }`],
    ['plan.landlock.handledFs must be a non-negative integer', `landlock: { ...${JSON.stringify(ll())}, handledFs: -1 }`],
    ['plan.landlock.handledFs must fit in 64 bits, unsigned', `landlock: { ...${JSON.stringify(ll())}, handledFs: -1n }`],
    ['plan.landlock must be an object', `landlock: 5`],
    ['plan.keepFds[1] must be a number', `keepFds: [3, 'x']`],
    ['plan.keepFds[0] must be an integer from 0 to 2147483647', `keepFds: [-1]`],
    ['plan.seccomp must be a Uint8Array', `seccomp: [1, 2]`],
    ['plan.envp[1] must be a string', `envp: ['A=1', null]`],
    ['plan.file must be a string', `file: undefined`],
    ['plan.dropCaps must be a boolean', `dropCaps: 1`],
  ])('a malformed field is a TypeError that names it: %s', (message, field) => {
    const e = inChild(`addon.exec({ ...${plan()}, ${field} })`);
    expect(e).toMatchObject({ thrown: 'TypeError', message });
  });
  it('a file that does not exist: ENOENT at execve, in step exec', () => {
    const e = inChild(`addon.exec({ ...${plan({ file: '/no/such/file' })} })`);
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'execve', step: 'exec', path: '/no/such/file' });
  });
});

describe('spawn() and supervise()', () => {
  it('a failure in the child comes back as a coded error, and nothing is left running', () => {
    const e = inChild(`addon.spawn({ ...${plan({ file: '/no/such/file' })} })`);
    expect(e).toMatchObject({ code: 'ENOENT', syscall: 'execve', step: 'exec', path: '/no/such/file' });
  });
  it('a child that execs: supervise() returns its status or its signal', () => {
    const r = inChild(`const a = addon.supervise(addon.spawn(${plan({ file: '/bin/sh', argv: ['sh', '-c', 'exit 7'] })}).pid);
      const b = addon.supervise(addon.spawn(${plan({ file: '/bin/sh', argv: ['sh', '-c', 'kill -TERM $$'] })}).pid);
      out([a, b])`);
    expect(r).toEqual([{ code: 7, signal: null }, { code: null, signal: 15 }]);
  });
  it('supervise() returns the command\'s own status once it has killed and reaped all it left running', () => {
    const marker = `50.${process.pid}${Date.now() % 1e6}`; // unique, and a duration to sleep
    const r = inChild(`const { pid, fds } = addon.spawn(${plan({ file: '/bin/sh', argv: ['sh', '-c', `setsid sleep ${marker} & sleep ${marker} & exit 4`] })});
      const status = addon.supervise(pid);
      const left = require('fs').readdirSync('/proc').filter((p) => /^\\d+$/.test(p) && Number(p) !== process.pid).filter((p) => { try { return require('fs').readFileSync('/proc/' + p + '/cmdline', 'utf8').includes(${JSON.stringify(marker)}) } catch { return false } });
      out({ status, left, fds })`);
    expect(r).toEqual({ status: { code: 4, signal: null }, left: [], fds: [] });
  });
  it('the two-half spawn says how it is misused: spawnStart needs whether it is gated; spawnView, a gated spawnStart waiting; spawnFinish, a spawnStart', () => {
    const r = inChild(`const said = (f) => { try { f(); return null } catch (e) { return e.constructor.name + ': ' + e.message } };
      out([said(() => addon.spawnStart(${plan()})), said(() => addon.spawnView()), said(() => addon.spawnFinish(true))])`);
    expect(r).toEqual([
      'TypeError: takes a plan object and whether it is gated',
      'TypeError: spawnView has no gated spawnStart waiting for it',
      'TypeError: spawnFinish has no spawnStart to finish',
    ]);
  });
  it('spawn() refuses (EBUSY) in a process that has children of its own, which the supervisor would end; they live on', () => {
    const r = inChild(`const other = require('child_process').spawn('sleep', ['5'], { stdio: 'ignore' });
      try { addon.spawn(${plan()}) } catch (e) { out({ code: e.code, syscall: e.syscall, step: e.step, otherAlive: other.exitCode === null && require('fs').existsSync('/proc/' + other.pid) }) }
      other.kill()`);
    expect(r).toEqual({ code: 'EBUSY', syscall: 'waitid', step: 'spawn', otherAlive: true });
  });
});

describe('answers(): the batch of questions a stored plan asks again', () => {
  it("a listing ('d') is the host's: the same names in the same order, each after its type; \"\" when empty, and as Host.readdir, when there is none", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-answers-'));
    try {
      const full = path.join(dir, 'full');
      fs.mkdirSync(path.join(full, 'sub'), { recursive: true });
      fs.mkdirSync(path.join(dir, 'empty'));
      for (const name of ['b', 'a', 'é', 'Z', 'ab', 'x y']) fs.writeFileSync(path.join(full, name), '');
      fs.symlinkSync('sub', path.join(full, 'link'));
      spawnSync('mkfifo', [path.join(full, 'fifo')]);
      // As the host lists (src/host.ts), in the addon's form (src/trace.ts).
      const node = (p: string) => fs.readdirSync(p, { withFileTypes: true }).map((d) => `${d.isDirectory() ? 'd' : d.isSymbolicLink() ? 'l' : 'f'}${d.name}`).join('\0');
      const r = inChild(`out(addon.answers('dddd', ${JSON.stringify([full, path.join(dir, 'empty'), path.join(dir, 'missing'), path.join(full, 'a')])}, [0, 0, 0, 0]))`) as string[];
      expect(r).toEqual([node(full), '', '', '']);
      expect(r[0]!.split('\0')).toEqual(['fZ', 'fa', 'fab', 'fb', 'ffifo', 'llink', 'dsub', 'fx y', 'fé']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('answersStart() and answersTake(): the same batch, asked on a thread of its own', () => {
  it('gives what answers() gives, only for exactly the questions started, once; a clone or exec of the addon drops them', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-early-'));
    try {
      fs.writeFileSync(path.join(dir, 'f'), 'text');
      const q = JSON.stringify(['lcdr', [dir, path.join(dir, 'f'), dir, path.join(dir, 'missing')], [0, 64, 0, 0]]);
      const r = inChild(`const q = ${q};
        const sync = addon.answers(...q);
        const none = addon.answersTake(...q);
        const started = addon.answersStart(...q);
        const second = addon.answersStart('l', ['/'], [0]);
        const other = addon.answersTake('lcdr', [q[1][0], q[1][1], q[1][2], '/'], q[2]);
        const taken = addon.answersTake(...q);
        const again = addon.answersTake(...q);
        addon.answersStart(...q);
        addon.probe(); // it clones: the answers asked before are dropped
        out({ sync, none, started, second, other, taken, again, afterClone: addon.answersTake(...q) });`) as Record<string, unknown>;
      expect(r.none).toBeNull();
      expect(r.started).toBe(true);
      expect(r.second).toBe(false);
      expect(r.other).toBeNull();
      expect(r.taken).toEqual(r.sync);
      expect((r.sync as string[])[3]).toBe('-');
      expect(r.again).toBeNull();
      expect(r.afterClone).toBeNull();
      expect(inChild("out(addon.answersStart('ll', ['/'], [0]))")).toMatchObject({ thrown: 'TypeError' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("answers() about the store's own files ('i', 'o': src/planstore.ts) and random()", () => {
  it("'i' is stat's device, inode, size and mtime in ns as Node gives them; '-' where there is nothing", () => {
    const file = path.join(REPO, 'package.json');
    const s = fs.statSync(file, { bigint: true });
    const r = inChild(`out(addon.answers('ii', ${JSON.stringify([file, path.join(REPO, 'no-such-file')])}, [0, 0]))`);
    expect(r).toEqual([`${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}`, '-']);
  });

  it("'o' reads only a regular file of this user's, not through a link, of at most the size asked", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-own-'));
    try {
      const own = path.join(dir, 'own');
      fs.writeFileSync(own, 'salt é\n');
      fs.symlinkSync(own, path.join(dir, 'link'));
      const size = fs.statSync(own).size;
      const paths = [own, own, path.join(dir, 'link'), dir, path.join(dir, 'missing'), own];
      const r = inChild(`out(addon.answers('oooooo', ${JSON.stringify(paths)}, [${size}, 64, 64, 64, 64, ${size - 1}]))`);
      expect(r).toEqual(['=salt é\n', '=salt é\n', '-', '-', '-', '-']);
      if (process.geteuid!() === 0) {
        fs.chownSync(own, 65534, 65534); // another user's: not read, though root may
        expect(inChild(`out(addon.answers('o', ${JSON.stringify([own])}, [64]))`)).toEqual(['-']);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('random(n) gives n bytes in hex, fresh each time, for 1 to 256 bytes', () => {
    const r = inChild(`out([addon.random(6), addon.random(6), addon.random(256).length])`) as [string, string, number];
    expect(r[0]).toMatch(/^[0-9a-f]{12}$/);
    expect(r[1]).not.toBe(r[0]);
    expect(r[2]).toBe(512);
    expect(inChild('out(addon.random(0))')).toMatchObject({ thrown: 'TypeError' });
    expect(inChild('out(addon.random(257))')).toMatchObject({ thrown: 'TypeError' });
  });
});

describe('verified opens: the addon grants the object the TypeScript side checked', () => {
  // Named now (the cases below show it), made only when they run.
  const dir = path.join(fs.realpathSync(os.tmpdir()), `jail-contract-${process.pid}`);
  beforeAll(() => {
    fs.mkdirSync(path.join(dir, 'real'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'real', 'file'), 'x');
    fs.symlinkSync('real', path.join(dir, 'link'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Child source: apply one path rule with the identity of `identityOf`. */
  const applying = (p: string, identityOf: string | null, how: 'exec' | 'spawn' = 'exec') => {
    const id = identityOf ? `const st = require('fs').statSync(${JSON.stringify(identityOf)}, { bigint: true }); const id = { dev: st.dev, ino: st.ino };` : 'const id = {};';
    const run = how === 'exec' ? 'addon.exec(p)' : 'out(addon.supervise(addon.spawn(p).pid))';
    return `${id} const p = { ...${plan({ file: '/usr/bin/true' })}, landlock: { ...${JSON.stringify(ll())}, paths: [{ path: ${JSON.stringify(p)}, access: 1, ...id }] } }; ${run}`;
  };

  /** The checks, run directly or under a filter that makes openat2 fail. */
  const cases = (syscall: string) => [
    ['another object than the one checked: ESTALE', () => applying('/etc', '/usr'), { code: 'ESTALE', errno: -116, syscall, step: 'landlock-ruleset', path: '/etc' }],
    ['a symlink as a component: ELOOP', () => applying(path.join(dir, 'link', 'file'), null), { code: 'ELOOP', syscall, step: 'landlock-ruleset', path: path.join(dir, 'link', 'file') }],
    ['a symlink as the last component: ELOOP', () => applying(path.join(dir, 'link'), null), { code: 'ELOOP', syscall, step: 'landlock-ruleset', path: path.join(dir, 'link') }],
    ['the object that was checked: applies, and the command runs', () => applying('/usr', '/usr', 'spawn'), { code: 0, signal: null }],
  ] as const;

  it.each(cases('openat2'))('%s', (_, body, expected) => {
    expect(inChild(body())).toEqual(expected.code === 0 ? expected : expect.objectContaining(expected));
  });

  // Before Linux 5.6, or under an outer container's seccomp filter: the
  // fallback (open O_NOFOLLOW, then /proc/self/fd/N must name the path).
  const outerFilter = (errno: number) => {
    const a = new Assembler();
    a.ld(SeccompData.nr).jeq(437 /* openat2, every arch */, { then: 'refuse' }).ret(SECCOMP_RET_ALLOW);
    a.label('refuse').ret(SECCOMP_RET_ERRNO | errno);
    return `new Uint8Array([${toBytes(a.assemble()).join(',')}])`;
  };
  for (const [name, errno] of [['ENOSYS', 38], ['EPERM', 1]] as const) {
    it.each(cases('open'))(`openat2 refused with ${name}: %s`, (_, body, expected) => {
      // Install the filter through the addon itself, then run the case in
      // a node started under it.
      const inner = `const addon = require(${JSON.stringify(path.join(REPO, 'dist', 'native', 'binding.js'))}).loadAddon();
const out = (x) => process.stdout.write(JSON.stringify(x, (k, v) => typeof v === 'bigint' ? String(v) : v));
try { ${body()} } catch (e) { out({ code: e.code, errno: e.errno, syscall: e.syscall, step: e.step, path: e.path }); }`;
      const r = inChild(`addon.exec({ ...${plan({ file: process.execPath, argv: ['node', '-e', inner], envp: [] })}, seccomp: ${outerFilter(errno)} })`);
      expect(r).toEqual(expected.code === 0 ? expected : expect.objectContaining(expected));
    });
  }
});

describe('apply.ts words what the addon reports', () => {
  it('a path that changed after it was checked: "PATH changed after jail checked it", with a hint', () => {
    const r = inChild(`const { execInPlace } = require(${JSON.stringify(path.join(REPO, 'dist', 'native', 'apply.js'))});
      const st = require('fs').statSync('/usr', { bigint: true });
      const landlock = { ...${JSON.stringify(ll())}, handledFs: 1n, paths: [{ path: '/etc', access: 1n, isDir: true, sources: [], dev: st.dev, ino: st.ino }] };
      try { execInPlace({ landlock, seccomp: null, dropCaps: false, keepFds: [], dropped: [] }, { file: '/usr/bin/true', argv: ['true'], env: {} }) }
      catch (e) { out({ kind: e.kind, message: e.message, hint: e.hint, code: e.code, step: e.step, syscall: e.syscall, path: e.path }) }`);
    expect(r).toEqual({
      kind: 'apply',
      message: '/etc changed after jail checked it (it is now a symlink or another file); nothing ran.',
      hint: 'run again; if it keeps happening, something is rewriting the path.',
      code: 'ESTALE',
      step: 'landlock-ruleset',
      syscall: 'openat2',
      path: '/etc',
    });
  });
});
