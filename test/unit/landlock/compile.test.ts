import { describe, expect, it } from 'vitest';
import { abiRow, FS, NET, SCOPE, ABI_TABLE, fsRightNames } from '../../../src/landlock/abi.js';
import { compileLandlock, maskForKind, rightsFor } from '../../../src/landlock/compile.js';
import { toNativePlan } from '../../../src/native/apply.js';
import { UnsupportedKernelError } from '../../../src/errors.js';
import type { PathGrant, Policy } from '../../../src/policy/model.js';
import type { JailPlan } from '../../../src/plan.js';
import { policyOf } from '../policy-fixture.js';

function policy(over: Partial<Policy> = {}): Policy {
  return policyOf({
    grants: [
      { path: '/usr', access: 'ro', isDir: true, source: { kind: 'base', what: '/usr' } },
      { path: '/work/src', access: 'rw', isDir: true, source: { kind: 'flag', flag: '--rw', given: './src' } },
      { path: '/dev/null', access: 'dev', isDir: false, source: { kind: 'base', what: '/dev/null' } },
    ],
    ...over,
  });
}

const V1 = (1n << 13n) - 1n;

describe('the ABI table', () => {
  // ABI → handled fs, net, scopes: the kernel documentation's rows.
  const rows: Array<[number, bigint, bigint, bigint]> = [
    [1, V1, 0n, 0n],
    [2, V1 | FS.REFER, 0n, 0n],
    [3, V1 | FS.REFER | FS.TRUNCATE, 0n, 0n],
    [4, V1 | FS.REFER | FS.TRUNCATE, NET.BIND_TCP | NET.CONNECT_TCP, 0n],
    [5, V1 | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, NET.BIND_TCP | NET.CONNECT_TCP, 0n],
    [6, V1 | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, NET.BIND_TCP | NET.CONNECT_TCP, SCOPE.SIGNAL | SCOPE.ABSTRACT_UNIX_SOCKET],
    [7, V1 | FS.REFER | FS.TRUNCATE | FS.IOCTL_DEV, NET.BIND_TCP | NET.CONNECT_TCP, SCOPE.SIGNAL | SCOPE.ABSTRACT_UNIX_SOCKET],
  ];
  it.each(rows)('ABI %i', (abi, fs, net, scoped) => {
    const r = abiRow(abi);
    expect([r.fs, r.net, r.scoped]).toEqual([fs, net, scoped]);
  });
  it('has the kernel values for the rights bits', () => {
    expect([FS.EXECUTE, FS.READ_DIR, FS.REFER, FS.TRUNCATE, FS.IOCTL_DEV]).toEqual([1n, 8n, 1n << 13n, 1n << 14n, 1n << 15n]);
    expect(ABI_TABLE.map((r) => r.abi)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
  it('gives kernels newer than the table its last row', () => {
    expect(abiRow(42)).toBe(ABI_TABLE[ABI_TABLE.length - 1]);
    expect(abiRow(0).fs).toBe(0n);
  });
});

describe('rights per access level', () => {
  it('ro is read, list and execute, nothing more', () => {
    expect(fsRightNames(rightsFor('ro', abiRow(7)))).toEqual(['execute', 'read-file', 'read-dir']);
  });
  it('rw is everything but device nodes', () => {
    const rw = rightsFor('rw', abiRow(7));
    expect(rw & FS.MAKE_CHAR).toBe(0n);
    expect(rw & FS.MAKE_BLOCK).toBe(0n);
    for (const r of [FS.WRITE_FILE, FS.REMOVE_FILE, FS.MAKE_REG, FS.MAKE_DIR, FS.MAKE_SYM, FS.MAKE_FIFO, FS.MAKE_SOCK, FS.REFER, FS.TRUNCATE, FS.IOCTL_DEV]) {
      expect(rw & r).toBe(r);
    }
  });
  it('only asks for rights the ABI has', () => {
    expect(rightsFor('rw', abiRow(3)) & FS.IOCTL_DEV).toBe(0n);
    expect(rightsFor('rw', abiRow(1)) & (FS.REFER | FS.TRUNCATE)).toBe(0n);
  });
  it('masks directory-only rights off files', () => {
    const m = maskForKind(rightsFor('rw', abiRow(7)), false);
    expect(fsRightNames(m)).toEqual(['execute', 'write-file', 'read-file', 'truncate', 'ioctl-dev']);
    expect(maskForKind(rightsFor('ro', abiRow(7)), false)).toBe(FS.EXECUTE | FS.READ_FILE);
  });
});

describe('compileLandlock', () => {
  it('handles every fs right of the ABI, TCP, and both scopes on ABI 7', () => {
    const { plan, dropped } = compileLandlock(policy(), 7);
    expect(dropped).toEqual([]);
    expect(plan!.handledFs).toBe(abiRow(7).fs);
    expect(plan!.handledNet).toBe(NET.BIND_TCP | NET.CONNECT_TCP);
    expect(plan!.scoped).toBe(SCOPE.SIGNAL | SCOPE.ABSTRACT_UNIX_SOCKET);
    expect(plan!.attrSize).toBe(24);
    expect(plan!.ports).toEqual([]);
  });
  it('sizes the ruleset attribute for the ABI', () => {
    expect(compileLandlock(policy({ scopeSignals: false, scopeAbstractUnix: false }), 3).plan!.attrSize).toBe(8);
    expect(compileLandlock(policy({ scopeSignals: false, scopeAbstractUnix: false }), 5).plan!.attrSize).toBe(16);
  });
  it('turns port ranges into one rule per port', () => {
    const p = policy({ net: { ...policy().net, connect: [{ from: 443, to: 443 }], bind: [{ from: 8000, to: 8002 }] } });
    const { plan } = compileLandlock(p, 7);
    expect(plan!.ports).toEqual([
      { port: 8000, access: NET.BIND_TCP },
      { port: 8001, access: NET.BIND_TCP },
      { port: 8002, access: NET.BIND_TCP },
      { port: 443, access: NET.CONNECT_TCP },
    ]);
  });
  it('leaves the network to seccomp with --net all', () => {
    expect(compileLandlock(policy({ net: { ...policy().net, mode: 'all' } }), 7).plan!.handledNet).toBe(0n);
  });
  it('drops grants a directory above already covers', () => {
    const p = policy({
      grants: [
        { path: '/', access: 'ro', isDir: true, source: { kind: 'flag', flag: '--ro', given: '/' } },
        { path: '/usr', access: 'ro', isDir: true, source: { kind: 'base', what: '/usr' } },
        { path: '/etc/passwd', access: 'ro', isDir: false, source: { kind: 'base', what: '/etc' } },
        { path: '/tmp/x', access: 'rw', isDir: true, source: { kind: 'flag', flag: '--rw', given: '/tmp/x' } },
      ],
    });
    const { plan } = compileLandlock(p, 7);
    expect(plan!.paths.map((r) => r.path)).toEqual(['/', '/tmp/x']);
    expect(plan!.covered).toBe(2);
  });
  it('merges grants of the same path and keeps every source', () => {
    const g = policy().grants[1]!;
    const { plan } = compileLandlock(policy({ grants: [g, { ...g, access: 'ro', source: { kind: 'flag', flag: '--ro', given: 'src' } }] }), 7);
    expect(plan!.paths).toHaveLength(1);
    expect(plan!.paths[0]!.sources).toHaveLength(2);
  });
  it('carries the identity a grant saw (dev, ino) to its rule, and toNativePlan to the addon', () => {
    const [usr, src, dev] = policy().grants as [PathGrant, PathGrant, PathGrant];
    const grants = [{ ...usr, dev: 1n, ino: 2n }, src, { ...src, access: 'ro' as const, dev: 3n, ino: 4n }, { ...src, dev: 5n, ino: 6n }, dev];
    const { plan } = compileLandlock(policy({ grants }), 7);
    expect(plan!.paths.map((r) => [r.path, r.dev, r.ino])).toEqual([
      ['/usr', 1n, 2n],
      ['/work/src', 3n, 4n], // the first identity seen for the path
      ['/dev/null', undefined, undefined],
    ]);
    const jailPlan: JailPlan = { facts: { landlockAbi: 7, seccomp: true, arch: 'x64' }, layer: 'landlock', fallback: 'off', view: null, landlock: plan, seccomp: null, observer: null, dropCaps: true, keepFds: [], dropped: [], afterRun: [] };
    const native = toNativePlan(jailPlan, { file: '/bin/true', argv: ['true'], env: {} });
    expect(native.landlock!.paths).toEqual([
      { path: '/usr', access: plan!.paths[0]!.access, dev: 1n, ino: 2n },
      { path: '/work/src', access: plan!.paths[1]!.access, dev: 3n, ino: 4n },
      { path: '/dev/null', access: plan!.paths[2]!.access },
    ]);
  });
});

describe('failing closed', () => {
  it('refuses a kernel without Landlock, naming the way out', () => {
    expect(() => compileLandlock(policy(), 0)).toThrowError(UnsupportedKernelError);
    try {
      compileLandlock(policy(), 0);
    } catch (e) {
      const err = e as UnsupportedKernelError;
      expect(err.message).toBe('cannot enforce any file system rule: this kernel has no Landlock; Landlock needs ABI 1 (Linux 5.13).');
      expect(err.hint).toContain('--best-effort');
      expect([err.abiFound, err.abiNeeded]).toEqual([0, 1]);
    }
  });
  it('refuses ABI 1-2: read-only files could be truncated', () => {
    expect(() => compileLandlock(policy(), 2)).toThrowError(/truncation control needs ABI 3 \(Linux 6\.2\)/);
  });
  it('refuses port rules below ABI 4', () => {
    const p = policy({ scopeSignals: false, scopeAbstractUnix: false, net: { ...policy().net, connect: [{ from: 443, to: 443 }] } });
    expect(() => compileLandlock(p, 3)).toThrowError(/cannot enforce --allow-connect\/--allow-bind: this kernel has Landlock ABI 3; TCP port control needs ABI 4 \(Linux 6\.7\)/);
  });
  it('refuses scopes below ABI 6', () => {
    expect(() => compileLandlock(policy(), 5)).toThrowError(/signal scoping needs ABI 6 \(Linux 6\.12\)/);
  });
  it('refuses --log-denials below ABI 7', () => {
    expect(() => compileLandlock(policy({ logDenials: true }), 6)).toThrowError(/needs ABI 7/);
  });
  it('with best effort, runs with what the kernel has and lists what it left out', () => {
    const p = policy({ net: { ...policy().net, connect: [{ from: 443, to: 443 }] } });
    const { plan, dropped } = compileLandlock(p, 3, { bestEffort: true });
    expect(plan!.handledNet).toBe(0n);
    expect(plan!.scoped).toBe(0n);
    expect(dropped.join('\n')).toMatch(/TCP port control.*\n.*signal scoping.*\n.*abstract UNIX socket scoping/);
    const none = compileLandlock(p, 0, { bestEffort: true });
    expect(none.plan).toBeNull();
    expect(none.dropped[0]).toMatch(/no Landlock/);
  });
});
