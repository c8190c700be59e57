/** --report-denials: the observer filter in the plan, and the calls it
 *  records judged and summarised, on a fake host. */
import { describe, expect, it } from 'vitest';
import { formatDenials, judgeObserved, type ObservedRecord } from '../../src/denials.js';
import { compile } from '../../src/plan.js';
import { assemble, type JailRequest } from '../../src/policy/assemble.js';
import type { JailOptions } from '../../src/policy/options.js';
import { syscallName, syscallNumber, x86_64 } from '../../src/seccomp/arch/index.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_USER_NOTIF, AUDIT_ARCH_I386 } from '../../src/seccomp/consts.js';
import { interp } from '../../src/seccomp/interp.js';
import { fakeHost, SMALL_MACHINE, type Node } from './fakehost.js';

const tree: Record<string, Node> = {
  ...SMALL_MACHINE,
  '/home/u/.ssh/id_rsa': 'KEY',
  '/home/u/.ssh/id_ed25519': 'KEY',
  '/home/u/.ssh/config': 'x',
};
const host = fakeHost(tree, { path: '/usr/bin' });

function prepared(options: JailOptions, layer: 'namespaces' | 'landlock' = 'landlock') {
  const req: JailRequest = { options, argv: ['true'], env: { PATH: '/usr/bin', HOME: '/home/u' }, nodeExecPath: '/usr/bin/node' };
  const a = assemble(req, host);
  const plan = compile(a.policy, { landlockAbi: 7, seccomp: true, arch: 'x64', namespaces: layer === 'namespaces' ? { ok: true } : { ok: false, why: 'test' } });
  return { plan, policy: a.policy };
}

const nr = (name: string) => syscallNumber(x86_64, name)!;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const AT_FDCWD = -100;
const call = (name: string, args: number[], path: string, base = '', path2 = '', base2 = ''): ObservedRecord => ({ nr: nr(name), args, path, base, path2, base2 });
const nameOf = (n: number) => syscallName(x86_64, n);

describe('the observer filter', () => {
  it('is not in the plan without the flag', () => {
    expect(prepared({ ro: ['.'] }).plan.observer).toBeNull();
    expect(prepared({ ro: ['.'] }, 'namespaces').plan.observer).toBeNull();
  });
  it('notifies the path syscalls and allows the rest', () => {
    const o = prepared({ ro: ['.'], reportDenials: true }).plan.observer!;
    expect(o.calls.map((c) => c.name)).toEqual(expect.arrayContaining(['openat', 'openat2', 'unlinkat', 'renameat2', 'execve']));
    const data = (n: number, arch = x86_64.auditArch) => ({ nr: n, arch, args: [0n, 0n, 0n, 0n, 0n, 0n] });
    for (const c of ['openat', 'open', 'mkdir', 'unlinkat', 'execve']) expect(interp(o.program, data(nr(c)))).toBe(SECCOMP_RET_USER_NOTIF);
    for (const c of ['read', 'getpid', 'newfstatat', 'close']) expect(interp(o.program, data(nr(c)))).toBe(SECCOMP_RET_ALLOW);
    // Another ABI is the main filter's to kill.
    expect(interp(o.program, data(5, AUDIT_ARCH_I386))).toBe(SECCOMP_RET_ALLOW);
    expect(o.bytes.length).toBe(o.program.insns.length * 8);
  });
});

describe('judging the recorded calls', () => {
  it('reports a read the plan refuses, with the flag that allows it', () => {
    const { plan, policy } = prepared({ ro: ['.'] });
    const j = judgeObserved(plan, policy, host, [call('openat', [AT_FDCWD, 0, 0], '/home/u/.ssh/id_rsa'), call('openat', [AT_FDCWD, 0, 0], 'src/a.js', '/work/proj')], 0, nameOf);
    expect(j.denials).toEqual([expect.objectContaining({ access: 'read', path: '/home/u/.ssh/id_rsa', allow: { flag: '--ro', path: '/home/u/.ssh/id_rsa' } })]);
  });
  it('a missing file is not the jail, but creating one under --ro is', () => {
    const { plan, policy } = prepared({ ro: ['.'] });
    const j = judgeObserved(plan, policy, host, [call('open', [0, 0], '/work/proj/nope'), call('openat', [AT_FDCWD, 0, O_WRONLY | O_CREAT], 'dist/a.js', '/work/proj')], 0, nameOf);
    expect(j.denials.map((d) => [d.access, d.path])).toEqual([['create', '/work/proj/dist/a.js']]);
    expect(formatDenials(j, '/work/proj').join('\n')).toContain('to allow it: --rw ./dist');
  });
  it('writes under --rw are not reported; rename is a remove and a create', () => {
    const { plan, policy } = prepared({ ro: ['.'], rw: ['src'] });
    const j = judgeObserved(plan, policy, host, [call('openat', [AT_FDCWD, 0, O_WRONLY], '/work/proj/src/a.js'), call('renameat2', [AT_FDCWD, 0, AT_FDCWD, 0, 0], 'src/a.js', '/work/proj', 'b.js', '/work/proj')], 0, nameOf);
    expect(j.denials.map((d) => [d.access, d.path])).toEqual([['create', '/work/proj/b.js']]);
  });
  it('groups by directory, counts calls, says what was dropped, escapes paths', () => {
    const { plan, policy } = prepared({ ro: ['.'] });
    const reads = ['id_rsa', 'id_ed25519', 'config'].map((f) => call('open', [0, 0], `/home/u/.ssh/${f}`));
    const j = judgeObserved(plan, policy, host, [...reads, ...reads, call('mkdir', [0, 0o777], '/work/proj/\x1b[2Jx')], 7, nameOf);
    const text = formatDenials(j, '/work/proj');
    expect(text[0]).toBe('--report-denials: the jail refused 4 path(s):');
    // Three reads in ~/.ssh are no reason to suggest all of it.
    expect(text.join('\n')).toContain('denied read of 3 paths under /home/u/.ssh (no rule grants it or a directory above it, 6 calls); jail suggests no grant on /home/u/.ssh (your credentials)');
    expect(text.join('\n')).toContain('/work/proj/\\x1b[2Jx');
    expect(text.join('\n')).not.toContain('\x1b');
    expect(text.at(-1)).toContain('7 path call(s) went unrecorded');
    expect(formatDenials(judgeObserved(plan, policy, host, [], 0, nameOf), '/work/proj')).toEqual([]);
  });
  it('a name with spaces is one shell word in the suggestion, and no grant on $HOME is suggested', () => {
    const { plan, policy } = prepared({ ro: ['.'] });
    const j = judgeObserved(plan, policy, host, [call('mkdir', [0, 0o777], '/home/u/x'), call('mkdir', [0, 0o777], '/home/u/y'), call('mkdir', [0, 0o777], '/home/u/a --rw ~/b'), call('mkdir', [0, 0o777], "/work/proj/it's here/d")], 0, nameOf);
    const text = formatDenials(j, '/work/proj').join('\n');
    expect(text).toContain("to allow it: --rw '/home/u/a --rw ~'");
    expect(text).toContain("to allow it: --rw './it'\\''s here'");
    expect(text).toContain('denied create of 2 paths under /home/u (');
    expect(text).not.toMatch(/--rw (~|\/home\/u|\/home|\/)([ ;)]|$)/m);
  });
  it('keeps to 15 lines', () => {
    const { plan, policy } = prepared({ ro: ['.'] });
    const many = Array.from({ length: 40 }, (_, i) => call('open', [0, 0], `/home/u/.ssh/d${i}/f`));
    const big = { ...host, realpath: (p: string) => p };
    const text = formatDenials(judgeObserved(plan, policy, big as typeof host, many, 3, nameOf), '/work/proj');
    expect(text.length).toBeLessThanOrEqual(16);
    expect(text.join('\n')).toContain('more group(s)');
  });
});
