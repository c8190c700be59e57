/**
 * compile(policy, facts, { bestEffort }) for every Landlock ABI row, 0 to
 * 10, with a few policies. Strict mode compiles or throws
 * UnsupportedKernelError naming the feature and the ABIs; best effort keeps
 * what the row has and lists in `dropped` exactly what it left out; the
 * syscall filter follows what Landlock governs on that row (judged through
 * the interpreter). Pure: a fake host, no kernel.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedKernelError } from '../../src/errors.js';
import { ABI_TABLE, abiRow, FS, NET, RESTRICT } from '../../src/landlock/abi.js';
import { compile, landlockCoverage, type JailPlan } from '../../src/plan.js';
import { buildPolicy, type JailOptions } from '../../src/policy/build.js';
import type { KernelFacts } from '../../src/policy/model.js';
import { x86_64 } from '../../src/seccomp/arch/index.js';
import { AF_INET, AF_INET6, AF_UNIX, IPPROTO_UDP, SOCK_DGRAM, SOCK_STREAM } from '../../src/seccomp/consts.js';
import { ALLOW, interp } from '../../src/seccomp/interp.js';
import { fakeHost } from './fakehost.js';
import { call } from './seccomp/helpers.js';

const host = fakeHost({
  '/usr/bin/node': { file: '\x7fELF', x: true },
  '/bin': { link: 'usr/bin' },
  '/etc/passwd': 'root:x:0:0',
  '/proc/self': { dir: true },
  '/dev/null': 'dev',
  '/work/proj/src/a.ts': 'x',
  '/run/agent.sock': 'socket',
});

const ABIS = [0, ...ABI_TABLE.map((r) => r.abi)];
const facts = (abi: number): KernelFacts => ({ landlockAbi: abi, seccomp: true, arch: 'x64' });

type Need = [feature: string, abi: number, linux: string];
const LANDLOCK: Need = ['Landlock', 1, '5.13'];
const TRUNCATE: Need = ['truncation control', 3, '6.2'];
const TCP_PORTS: Need = ['TCP port control', 4, '6.7'];
const SIGNALS: Need = ['signal scoping', 6, '6.12'];
const ABSTRACT: Need = ['abstract UNIX socket scoping', 6, '6.12'];
const AUDIT: Need = ['audit logging of denials', 7, '6.15'];
const UNIX_PATHS: Need = ['UNIX socket path control', 9, 'after 7.0'];

interface Case {
  name: string;
  opts: JailOptions;
  /** What the policy needs of Landlock, in the order compile checks it. */
  needs: Need[];
  /** What best effort says it does instead, by feature. */
  instead?: Record<string, string>;
}

const SOCKET = '/run/agent.sock';
const CASES: Case[] = [
  { name: 'default', opts: {}, needs: [LANDLOCK, TRUNCATE, SIGNALS, ABSTRACT] },
  {
    name: '--allow-connect 443',
    opts: { allowConnect: ['443'] },
    needs: [LANDLOCK, TRUNCATE, TCP_PORTS, SIGNALS, ABSTRACT],
    instead: { 'TCP port control': '; TCP sockets are refused instead' },
  },
  {
    name: `--allow-unix ${SOCKET}`,
    opts: { allowUnix: [SOCKET] },
    needs: [LANDLOCK, TRUNCATE, UNIX_PATHS, SIGNALS, ABSTRACT],
    instead: { 'UNIX socket path control': `; UNIX sockets are refused instead (socketpair still works), ${'/run/agent.sock'} included` },
  },
  { name: '--allow-dns', opts: { allowDns: true }, needs: [LANDLOCK, TRUNCATE, SIGNALS, ABSTRACT] },
  { name: '--log-denials', opts: { logDenials: true }, needs: [LANDLOCK, TRUNCATE, SIGNALS, ABSTRACT, AUDIT] },
];

const policyOf = (c: Case) => buildPolicy({ ro: ['.'], ...c.opts }, host);
const missing = (c: Case, abi: number) => c.needs.filter(([, need]) => need > abi);

/** What the filter does with a few sockets. */
function sockets(plan: JailPlan) {
  const seccomp = plan.seccomp!;
  const verdict = (family: number, type: number, protocol = 0) =>
    interp(seccomp, call(x86_64, 'socket', family, type, protocol)) === ALLOW ? 'allow' : 'deny';
  return {
    tcp: verdict(AF_INET, SOCK_STREAM),
    tcp6: verdict(AF_INET6, SOCK_STREAM),
    udp: verdict(AF_INET, SOCK_DGRAM, IPPROTO_UDP),
    unix: verdict(AF_UNIX, SOCK_STREAM),
  };
}

/** The sockets the filter should allow for case `c` on a kernel with ABI `abi`. */
function expectedSockets(c: Case, abi: number) {
  const tcpByLandlock = abi >= 4;
  return {
    tcp: tcpByLandlock ? 'allow' : 'deny',
    tcp6: tcpByLandlock ? 'allow' : 'deny',
    udp: c.opts.allowDns ? 'allow' : 'deny',
    unix: c.opts.allowUnix && abi >= 9 ? 'allow' : 'deny',
  };
}

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe.each(CASES)('$name', (c) => {
  const policy = policyOf(c);

  describe.each(ABIS)('ABI %i', (abi) => {
    const gaps = missing(c, abi);
    const row = abiRow(abi);

    it(gaps.length ? `strict: refuses, naming ${gaps[0]![0]} (ABI ${gaps[0]![1]})` : 'strict: compiles, nothing dropped', () => {
      if (!gaps.length) {
        const plan = compile(policy, facts(abi));
        expect(plan.dropped).toEqual([]);
        expect(plan.landlock?.abi).toBe(abi);
        expect(sockets(plan)).toEqual(expectedSockets(c, abi));
        return;
      }
      const [feature, needed, linux] = gaps[0]!;
      const e = thrown(() => compile(policy, facts(abi)));
      expect(e).toBeInstanceOf(UnsupportedKernelError);
      expect(e).toMatchObject({ feature, abiFound: abi, abiNeeded: needed });
      const err = e as UnsupportedKernelError;
      expect(err.message).toContain(`this kernel has ${abi === 0 ? 'no Landlock' : `Landlock ABI ${abi}`}`);
      expect(err.message).toContain(`${feature} needs ABI ${needed} (Linux ${linux})`);
      expect(err.hint).toContain('--best-effort');
    });

    const title =
      abi === 0 ? 'best effort: no Landlock plan, the filter alone' : `best effort: drops ${gaps.length ? gaps.map((g) => g[0]).join(', ') : 'nothing'}`;
    it(title, () => {
      const plan = compile(policy, facts(abi), { bestEffort: true });
      if (abi === 0) {
        expect(plan.landlock).toBeNull();
        expect(plan.dropped).toEqual(['all file system and network confinement: this kernel has no Landlock']);
      } else {
        expect(plan.dropped).toEqual(
          gaps.map(([feature, needed, linux]) => `${feature} (needs Landlock ABI ${needed}, Linux ${linux}; this kernel has ${abi})${c.instead?.[feature] ?? ''}`),
        );
        // What the row has, it keeps.
        const ll = plan.landlock!;
        expect(ll.abi).toBe(abi);
        expect(ll.handledFs).toBe(row.fs);
        expect(ll.handledNet).toBe(row.net);
        expect(ll.scoped).toBe(row.scoped);
        expect(ll.restrictFlags).toBe(c.opts.logDenials && abi >= 7 ? RESTRICT.LOG_NEW_EXEC_ON : 0);
      }
      expect(sockets(plan)).toEqual(expectedSockets(c, abi));
    });
  });
});

describe('what each policy adds to the Landlock plan where the row has it', () => {
  const ports = (abi: number, c: Case) => compile(policyOf(c), facts(abi), { bestEffort: true }).landlock?.ports ?? [];
  const [, connect, unix, dns] = CASES as [Case, Case, Case, Case, Case];

  it.each(ABIS)('--allow-connect 443 on ABI %i: a CONNECT_TCP rule from ABI 4', (abi) => {
    expect(ports(abi, connect)).toEqual(abi >= 4 ? [{ port: 443, access: NET.CONNECT_TCP }] : []);
  });

  it.each(ABIS)('--allow-dns on ABI %i: UDP port 53 from ABI 10 (before, the filter allows all UDP)', (abi) => {
    expect(ports(abi, dns)).toEqual(abi >= 10 ? [{ port: 53, access: NET.CONNECT_SEND_UDP }] : []);
  });

  it.each(ABIS)('--allow-unix PATH on ABI %i: a RESOLVE_UNIX rule for the socket from ABI 9', (abi) => {
    const plan = compile(policyOf(unix), facts(abi), { bestEffort: true });
    const rule = plan.landlock?.paths.find((p) => p.path === SOCKET);
    expect(rule?.access).toBe(abi >= 9 ? FS.RESOLVE_UNIX : undefined);
  });
});

describe('landlockCoverage', () => {
  it.each(ABIS)('ABI %i: TCP from ABI 4, UNIX socket paths from ABI 9', (abi) => {
    const plan = compile(policyOf(CASES[0]!), facts(abi), { bestEffort: true });
    expect(landlockCoverage(plan.landlock)).toEqual({ tcp: abi >= 4, unixPaths: abi >= 9 });
  });

  it('--net all: Landlock governs no TCP, and the filter allows any inet socket', () => {
    const plan = compile(buildPolicy({ ro: ['.'], net: 'all' }, host), facts(7));
    expect(landlockCoverage(plan.landlock)).toEqual({ tcp: false, unixPaths: false });
    expect(sockets(plan)).toMatchObject({ tcp: 'allow', udp: 'allow', unix: 'deny' });
  });

  it.each([3, 4, 5])('without scoping (a policy made by hand: no option turns it off), strict compiles on ABI %i; the filter still follows TCP coverage', (abi) => {
    const plan = compile({ ...buildPolicy({ ro: ['.'] }, host), scopeSignals: false, scopeAbstractUnix: false }, facts(abi));
    expect(plan.landlock?.scoped).toBe(0n);
    expect(plan.dropped).toEqual([]);
    expect(sockets(plan).tcp).toBe(abi >= 4 ? 'allow' : 'deny');
  });
});

describe('the syscall filter itself', () => {
  const policy = policyOf(CASES[0]!);

  it.each([
    ['no seccomp', { landlockAbi: 7, seccomp: false, arch: 'x64' }, 'this kernel has no seccomp filter support'],
    ['an arch without a table', { landlockAbi: 7, seccomp: true, arch: 'riscv64' }, 'jail has no syscall table for riscv64'],
  ] as const)('%s: strict refuses; best effort runs without it and says so', (_, f, why) => {
    const e = thrown(() => compile(policy, f));
    expect(e).toBeInstanceOf(UnsupportedKernelError);
    expect(e).toMatchObject({ feature: 'seccomp' });
    expect((e as Error).message).toContain(why);
    const plan = compile(policy, f, { bestEffort: true });
    expect(plan.seccomp).toBeNull();
    expect(plan.landlock?.abi).toBe(7);
    expect(plan.dropped).toEqual([expect.stringMatching(new RegExp(`^the syscall filter \\(.*\\): ${why}$`))]);
  });

  it('aarch64 gets its own filter', () => {
    const plan = compile(policy, { landlockAbi: 7, seccomp: true, arch: 'arm64' });
    expect(plan.seccomp?.arch).toBe('aarch64');
  });
});

describe('--allow-sysv-ipc and the layer', () => {
  const policy = buildPolicy({ ro: ['.'], allowSysvIpc: true }, host);
  const ns = (ok: boolean): KernelFacts => ({ ...facts(7), namespaces: ok ? { ok: true } : { ok: false, why: 'refused in a test' } });

  it('the namespace layer (an IPC namespace of its own) compiles it, dropping nothing', () => {
    const plan = compile(policy, ns(true));
    expect([plan.layer, plan.dropped]).toEqual(['namespaces', []]);
  });

  it('the fallback refuses it; best effort runs and says the machine’s objects are reachable', () => {
    const e = thrown(() => compile(policy, ns(false)));
    expect(e).toBeInstanceOf(UnsupportedKernelError);
    expect(e).toMatchObject({ feature: 'IPC namespace' });
    expect((e as UnsupportedKernelError).hint).toMatch(/--best-effort/);
    const plan = compile(policy, ns(false), { bestEffort: true });
    expect(plan.dropped).toEqual([expect.stringMatching(/^an IPC namespace of its own for --allow-sysv-ipc \(no namespace layer: namespaces refused here: refused in a test\): System V .* are the machine's/)]);
    expect(compile(buildPolicy({ ro: ['.'] }, host), ns(false)).dropped).toEqual([]); // without the flag, nothing to say
  });
});

describe('--allow-unix PATH below ABI 9, by layer: best effort says what it does instead', () => {
  const policy = buildPolicy({ ro: ['.'], allowUnix: [SOCKET] }, host);
  const at = (ok: boolean): KernelFacts => ({ ...facts(8), namespaces: ok ? { ok: true } : { ok: false, why: 'refused in a test' } });
  const unixLine = (plan: JailPlan) => plan.dropped.find((d) => d.startsWith('UNIX socket path control'));

  it('the fallback: UNIX sockets are refused (the filter says so), the path with them', () => {
    const plan = compile(policy, at(false), { bestEffort: true });
    expect(unixLine(plan)).toMatch(/; UNIX sockets are refused instead \(socketpair still works\), \/run\/agent\.sock included$/);
    expect(sockets(plan).unix).toBe('deny');
  });

  it('the namespace layer: UNIX sockets are allowed (the filter says so), and the view decides which exist', () => {
    const plan = compile(policy, at(true), { bestEffort: true });
    expect(unixLine(plan)).toMatch(/; the view decides instead: UNIX sockets work under the granted paths, as without --allow-unix \(under a read-only grant a socket of a process outside is covered, but not \/run\/agent\.sock\), and \/run\/agent\.sock only where a grant shows it/);
    expect(unixLine(plan)).not.toMatch(/refused/);
    expect(sockets(plan).unix).toBe('allow');
    expect(plan.view!.entries.some((e) => e.path === SOCKET && e.kind === 'bind')).toBe(false); // not in the view
  });
});
