/**
 * The addon's contract: probe() returns well-formed facts, and a malformed or
 * failing plan comes back as a coded error. Anything that could confine or
 * exec runs in a child process.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

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
  it('a path that does not exist: ENOENT at open, in step landlock-ruleset', () => {
    const e = inChild(`addon.exec({ ...${plan()}, landlock: { ...${JSON.stringify(ll())}, paths: [{ path: '/no/such/path', access: 1 }] } })`);
    expect(e).toMatchObject({ thrown: 'Error', code: 'ENOENT', errno: -2, syscall: 'open', step: 'landlock-ruleset', path: '/no/such/path' });
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
    const r = inChild(`const a = addon.supervise(addon.spawn(${plan({ file: '/bin/sh', argv: ['sh', '-c', 'exit 7'] })}));
      const b = addon.supervise(addon.spawn(${plan({ file: '/bin/sh', argv: ['sh', '-c', 'kill -TERM $$'] })}));
      out([a, b])`);
    expect(r).toEqual([{ code: 7, signal: null }, { code: null, signal: 15 }]);
  });
});
