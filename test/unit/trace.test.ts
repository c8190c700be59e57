/** trace.ts: a kept plan is reused only when preparing again would give it. */
import { describe, expect, it, vi } from 'vitest';
import { assemble, type JailRequest } from '../../src/policy/assemble.js';
import type { Host } from '../../src/policy/host.js';
import { fresh, keep, replay, tracing, type StampDir } from '../../src/trace.js';
import { fakeHost, SMALL_MACHINE, type Node } from './fakehost.js';

const tree: Record<string, Node> = {
  ...SMALL_MACHINE,
  '/work/proj/src/deeper/b.js': 'x',
  '/home/u/.npmrc': '//registry.npmjs.org/:_authToken=SECRET\n',
  '/opt/jail/dist/cli.js': 'x',
  '/etc/passwd': 'x',
};
const req: JailRequest = { options: { ro: ['.'], rw: ['./src'] }, argv: ['true'], env: { PATH: '/usr/bin', HOME: '/home/u' }, nodeExecPath: '/usr/bin/node' };
let n = 0;
const host = (extra: Record<string, Node> = {}, over: Partial<Host> = {}) => fakeHost({ ...tree, ...extra }, { path: '/usr/bin', tempName: () => `jail-1-${String(++n).padStart(12, '0')}`, ...over });

/** assemble() traced on one host, and the trace replayed on another. */
function traced(first: Host) {
  const t = tracing(first);
  const a = assemble(req, t.host);
  return { a, trace: t.trace };
}

describe('replay()', () => {
  it('holds against the same answers, with a new TMPDIR name, and the plan made again is the kept one but for it', () => {
    const { a, trace } = traced(host());
    const names = replay(trace, host());
    expect(names).toHaveLength(1);
    expect(names![0]).not.toBe(trace.names[0]);
    const k = keep(a, trace.names);
    const again = assemble(req, fakeHost(tree, { path: '/usr/bin', tempName: () => names![0]! }));
    expect(fresh(k, names!)).toEqual(again);
  });

  it('fails when a .env appears where the search looks, a config changes, or a granted path goes', () => {
    const { a, trace } = traced(host());
    expect(a.policy.hidden).toEqual([]);
    expect(replay(trace, host({ '/work/proj/src/deeper/.env': 'SECRET=1' }))).toBeNull();
    expect(replay(trace, host({ '/work/proj/.env': 'SECRET=1' }))).toBeNull();
    expect(replay(trace, host({ '/home/u/.npmrc': '//registry.npmjs.org/:_authToken=OTHER\n' }))).toBeNull();
    expect(replay(trace, host({ '/work/proj/.husky/pre-commit': 'x' }))).toBeNull();
    const gone = { ...tree };
    delete gone['/work/proj/src/a.js'];
    delete gone['/work/proj/src/deeper/b.js'];
    expect(replay(trace, fakeHost(gone, { path: '/usr/bin' }))).toBeNull();
    // and the one that holds, for contrast
    expect(replay(trace, host())).not.toBeNull();
  });

  it('is not reused when an answer was an exception', () => {
    const h = host({}, { readText: () => { throw new Error('EIO'); } });
    const t = tracing(h);
    expect(() => t.host.readText('/home/u/.npmrc')).toThrow('EIO');
    expect(t.trace.reusable).toBe(false);
    expect(replay(t.trace, host())).toBeNull();
  });

  it('compares the socket table by the paths it lists, not its order or counters', () => {
    const table = (rows: string[]) => `Num RefCount Protocol Flags Type St Inode Path\n${rows.join('\n')}\n`;
    const a = '0000000000000000: 00000002 00000000 00010000 0001 01 11 /run/a.sock';
    const b = '0000000000000000: 00000002 00000000 00010000 0001 01 12 /run/b.sock';
    const t = tracing(host({}, { unixSockets: () => table([a, b]) }));
    t.host.unixSockets!();
    expect(replay(t.trace, host({}, { unixSockets: () => table([b.replace(' 12 ', ' 99 '), a]) }))).not.toBeNull();
    expect(replay(t.trace, host({}, { unixSockets: () => table([a]) }))).toBeNull();
  });

  describe('with directory stamps', () => {
    const NOW = BigInt(Date.now()) * 1_000_000n;
    const stamps = (m: Record<string, [string, bigint]>): StampDir => (p) => (m[p] ? { stamp: m[p]![0], changedNs: m[p]![1] } : null);
    const old = NOW - 10_000_000_000n;

    it('takes a settled directory with the same stamp as listed the same, without listing it', () => {
      const stamp = stamps({ '/work/proj/src': ['1:2:old', old] });
      const t = tracing(host(), stamp);
      t.host.readdir('/work/proj/src');
      expect(t.trace.calls[0]!.stamp).toBe('1:2:old');
      const h = host({ '/work/proj/src/.env': 'SECRET=1' });
      const readdir = vi.spyOn(h, 'readdir');
      // the same stamp: a listing that differs cannot be (the fake's own
      // listing would differ here, which shows it was not asked)
      expect(replay(t.trace, h, stamp)).not.toBeNull();
      expect(readdir).not.toHaveBeenCalled();
      // another stamp: listed again, and the new .env seen
      expect(replay(t.trace, h, stamps({ '/work/proj/src': ['1:2:new', NOW] }))).toBeNull();
      expect(readdir).toHaveBeenCalledTimes(1);
      // no stamp to be had: listed again
      expect(replay(t.trace, h, stamps({}))).toBeNull();
    });

    it('keeps no stamp for an empty listing (the host answers a failure so), which is listed again', () => {
      const stamp = stamps({ '/work/proj/empty': ['1:3:old', old] });
      const t = tracing(host({ '/work/proj/empty': { dir: true } }), stamp);
      expect(t.host.readdir('/work/proj/empty')).toEqual([]);
      expect(t.trace.calls[0]!.stamp).toBeUndefined();
      expect(replay(t.trace, host({ '/work/proj/empty/.env': 'SECRET=1' }), stamp)).toBeNull();
    });

    it('keeps no stamp for a directory changed within the clock tick margin before it was listed (listed again then)', () => {
      const stamp = stamps({ '/work/proj/src': ['1:2:recent', NOW - 100_000_000n] });
      const t = tracing(host(), stamp);
      t.host.readdir('/work/proj/src');
      expect(t.trace.calls[0]!.stamp).toBeUndefined();
      const h = host({ '/work/proj/src/.env': 'SECRET=1' });
      expect(replay(t.trace, h, stamp)).toBeNull();
    });
  });
});

describe('keep() and fresh()', () => {
  it('freezes the kept value, copies only the way to each name, and puts the new name everywhere the old one was', () => {
    const v = { tmp: '/tmp/jail-1-aaaaaaaaaaaa', list: [{ p: '/x' }, { p: '/tmp/jail-1-aaaaaaaaaaaa/npmrc', q: 'a jail-1-aaaaaaaaaaaa b jail-1-aaaaaaaaaaaa' }], other: { deep: ['/y'] }, bytes: new Uint8Array([1, 2]) };
    const k = keep(v, ['jail-1-aaaaaaaaaaaa']);
    expect(Object.isFrozen(v.list[1])).toBe(true);
    expect(() => {
      'use strict';
      (v.other.deep as string[]).push('/z');
    }).toThrow(TypeError);
    const f = fresh(k, ['jail-2-bbbbbbbbbbbb']);
    expect(f).toEqual({ tmp: '/tmp/jail-2-bbbbbbbbbbbb', list: [{ p: '/x' }, { p: '/tmp/jail-2-bbbbbbbbbbbb/npmrc', q: 'a jail-2-bbbbbbbbbbbb b jail-2-bbbbbbbbbbbb' }], other: { deep: ['/y'] }, bytes: new Uint8Array([1, 2]) });
    expect(f.other).toBe(v.other);
    expect(f.list[0]).toBe(v.list[0]);
    expect(f.list).not.toBe(v.list);
    expect(JSON.stringify(f)).not.toContain('aaaaaaaaaaaa');
    // the kept value is untouched
    expect(v.tmp).toBe('/tmp/jail-1-aaaaaaaaaaaa');
  });

  it('refuses what is not plain data', () => {
    expect(() => keep({ a: new Map() }, [])).toThrow(/class/);
    expect(() => keep({ a: () => 1 }, [])).toThrow(/function/);
  });
});
