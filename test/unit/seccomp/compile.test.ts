/**
 * The shape of the compiled filter, beyond what single syscalls show: the
 * hot path is short and never reads arguments, every combination of rules
 * assembles, and the bytes are what the program says.
 */
import { describe, expect, it } from 'vitest';
import { fromBytes, OP, SeccompData } from '../../../src/seccomp/asm.js';
import { ARCHES, x86_64, type Arch } from '../../../src/seccomp/arch/index.js';
import { compileSeccomp, describeSeccomp, type SeccompRules } from '../../../src/seccomp/compile.js';
import { ALLOW, execute, interp } from '../../../src/seccomp/interp.js';
import { call, DEFAULT_RULES, OPEN_RULES, rules } from './helpers.js';

/** Every syscall of the table, by the verdict it gets with all arguments 0. */
function survey(arch: Arch, r: SeccompRules) {
  const plan = compileSeccomp(r, arch);
  return Object.keys(arch.syscalls).map((name) => {
    const run = execute(plan, call(arch, name, 0, 0, 0, 0, 0, 0));
    return { name, run, readsArgs: run.loads.some((offset) => offset >= SeccompData.argLo(0)) };
  });
}

const CHECKED = new Set([
  'socket',
  'ioctl',
  'clone',
  'personality',
  'setpriority',
  'ioprio_set',
  'prlimit64',
  'sched_setaffinity',
  'sched_setscheduler',
  'sched_setparam',
  'sched_setattr',
  'migrate_pages',
  'move_pages',
  'chmod',
  'fchmod',
  'fchmodat',
  'fchmodat2',
  'sendto',
  'sendmsg',
  'sendmmsg',
]);

describe.each(ARCHES)('$name', (arch) => {
  const plan = compileSeccomp(DEFAULT_RULES, arch);

  it('reads arguments only for the syscalls with argument checks', () => {
    const reading = survey(arch, DEFAULT_RULES)
      .filter((s) => s.readsArgs)
      .map((s) => s.name);
    expect(new Set(reading)).toEqual(new Set([...CHECKED].filter((name) => name in arch.syscalls)));
  });

  it('allows every other allowed syscall without arguments at all (so the kernel can cache it)', () => {
    const allowed = survey(arch, DEFAULT_RULES).filter((s) => !s.readsArgs && s.run.value === ALLOW);
    expect(allowed.length).toBeGreaterThan(200);
    for (const { name } of allowed) expect(interp(plan, call(arch, name)), name).toBe(ALLOW);
  });

  it('decides any syscall number within a few instructions', () => {
    // arch check, x32 check, then a balanced search: ⌈log2(runs)⌉ jge, then ret.
    const longest = Math.max(...survey(arch, DEFAULT_RULES).filter((s) => !s.readsArgs).map((s) => s.run.steps));
    expect(longest).toBeLessThanOrEqual(12);
    expect(execute(plan, call(arch, 'read')).steps).toBeLessThanOrEqual(12);
    expect(execute(plan, call(arch, 'read')).loads).toEqual([SeccompData.arch, SeccompData.nr]);
  });

  it('emits only the opcodes the interpreter knows', () => {
    const known = new Set<number>(Object.values(OP));
    for (const insn of plan.program.insns) expect(known.has(insn.code)).toBe(true);
  });

  it('gives the same verdicts from its bytes', () => {
    const decoded = fromBytes(plan.bytes);
    expect(plan.bytes.length).toBe(plan.program.insns.length * 8);
    for (const { name } of survey(arch, DEFAULT_RULES)) {
      const data = call(arch, name, 2, 1, 0, 0, 0, 0);
      expect(interp(decoded, data), name).toBe(interp(plan, data));
    }
  });

  it('assembles for every combination of rules', () => {
    for (const inet of ['none', 'tcp-only', 'all'] as const) {
      for (let bits = 0; bits < 32; bits++) {
        const r: SeccompRules = {
          inet,
          udp: (bits & 1) !== 0,
          unix: (bits & 2) !== 0,
          listen: (bits & 4) !== 0,
          rawSockets: (bits & 8) !== 0,
          sysvIpc: (bits & 16) !== 0,
          allowSyscalls: [],
        };
        const p = compileSeccomp(r, arch);
        expect(p.program.insns.length).toBeLessThan(256);
        expect(interp(p, call(arch, 'read'))).toBe(ALLOW);
      }
    }
  });

  it('lists a reason for every rule', () => {
    for (const r of [DEFAULT_RULES, OPEN_RULES, rules({ allowSyscalls: ['ptrace'] })]) {
      for (const rule of compileSeccomp(r, arch).rules) {
        expect(rule.syscall).not.toBe('');
        expect(rule.action).not.toBe('');
        expect(rule.reason.length, rule.syscall).toBeGreaterThan(10);
      }
    }
  });

  it('names its arch in the plan', () => {
    expect(plan.arch).toBe(arch.name);
  });
});

describe('describeSeccomp', () => {
  const text = describeSeccomp(compileSeccomp(DEFAULT_RULES, x86_64));

  it('groups the rules with their reasons', () => {
    expect(text).toMatch(/^seccomp: x86_64, \d+ instructions, syscall table from Linux 6\.11-rc3$/m);
    expect(text).toContain('  ptrace, process_vm_readv, process_vm_writev: ERRNO(EPERM)\n');
    expect(text).toContain('  clone3: ERRNO(ENOSYS)\n');
    expect(text).toContain('  chmod, fchmod, fchmodat, fchmodat2: ERRNO(EPERM) if the mode has S_ISUID or S_ISGID (low 32 bits)\n');
    expect(text).toMatch(/socket: ERRNO\(EPERM\) unless listed\n\s+allowed: AF_INET\/AF_INET6: SOCK_STREAM/);
  });

  it('ends with the listing, syscalls named', () => {
    expect(text).toContain('  program:\n');
    expect(text).toMatch(/jge {2}#41 .*; ≥ socket/);
    expect(text.trimEnd().split('\n').at(-1)).toMatch(/ret {2}KILL_PROCESS$/);
  });
});
