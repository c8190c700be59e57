import { describe, expect, it } from 'vitest';
import { Assembler, SeccompData, type Program } from '../../../src/seccomp/asm.js';
import { BPF_ALU, BPF_JMP, BPF_K, BPF_LD, BPF_W, EPERM, SECCOMP_RET_ALLOW } from '../../../src/seccomp/consts.js';
import { ALLOW, decode, errno, execute, interp, KILL_PROCESS, KILL_THREAD, LOG, trap } from '../../../src/seccomp/interp.js';

/** ALLOW if the word at `offset` is `expected`, else EPERM. */
function probe(offset: number, expected: number): Program {
  const a = new Assembler();
  a.ld(offset).jeq(expected, { then: 'yes', else: 'no' });
  a.label('yes').ret(ALLOW);
  a.label('no').ret(errno(EPERM));
  return a.assemble();
}

describe('interp', () => {
  it('reads nr, arch, the instruction pointer and both halves of each argument', () => {
    const data = { nr: 41, arch: 0xc000003e, ip: 0x1234_5678_9abc_def0n, args: [1, 0xdeadbeef00005412n, -1, 0, 0, 7] };
    expect(interp(probe(SeccompData.nr, 41), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.arch, 0xc000003e), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.instructionPointerLo, 0x9abcdef0), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.instructionPointerHi, 0x12345678), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.argLo(1), 0x5412), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.argHi(1), 0xdeadbeef), data)).toBe(ALLOW);
    // A negative number is the two's complement of the whole register.
    expect(interp(probe(SeccompData.argLo(2), 0xffffffff), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.argHi(2), 0xffffffff), data)).toBe(ALLOW);
    expect(interp(probe(SeccompData.argLo(5), 7), data)).toBe(ALLOW);
    // Missing arguments are 0; a negative nr is its 32-bit pattern.
    expect(interp(probe(SeccompData.argLo(4), 0), { nr: 0, arch: 0, args: [] })).toBe(ALLOW);
    expect(interp(probe(SeccompData.nr, 0xffffffff), { nr: -1, arch: 0 })).toBe(ALLOW);
  });

  it('compares unsigned, and ANDs', () => {
    const a = new Assembler();
    a.ld(SeccompData.nr).jgt(0x7fffffff, { then: 'big' }).and(0xf).jge(8, { then: 'high' }).jset(1, { then: 'odd', else: 'even' });
    a.label('big').ret(1).label('high').ret(2).label('odd').ret(3).label('even').ret(4);
    const p = a.assemble();
    expect(interp(p, { nr: -5, arch: 0 })).toBe(1);
    expect(interp(p, { nr: 0x1c, arch: 0 })).toBe(2);
    expect(interp(p, { nr: 0x13, arch: 0 })).toBe(3);
    expect(interp(p, { nr: 0x12, arch: 0 })).toBe(4);
  });

  it('counts steps and records the loads', () => {
    const a = new Assembler();
    a.ld(SeccompData.arch).ld(SeccompData.nr).ja('end').ret(0).label('end').ret(SECCOMP_RET_ALLOW);
    expect(execute(a.assemble(), { nr: 1, arch: 2 })).toEqual({ value: ALLOW, steps: 4, path: [0, 1, 2, 4], loads: [4, 0] });
  });

  it('throws when the filter reads an argument and none were given', () => {
    expect(() => interp(probe(SeccompData.argLo(3), 0), { nr: 1, arch: 2 })).toThrow(/read args\[3\] of syscall 1/);
  });

  it('accepts a plan as well as a program', () => {
    const program = probe(SeccompData.nr, 1);
    expect(interp({ program }, { nr: 1, arch: 0 })).toBe(ALLOW);
  });

  it('throws on instructions the assembler never emits', () => {
    const ldx = { insns: [{ code: 0x01, jt: 0, jf: 0, k: 0 }], labels: {} };
    expect(() => interp(ldx, { nr: 0, arch: 0 })).toThrow(/opcode 0x1 at 0/);
    const addX = { insns: [{ code: BPF_ALU | 0x08, jt: 0, jf: 0, k: 0 }], labels: {} };
    expect(() => interp(addX, { nr: 0, arch: 0 })).toThrow(/not one the assembler emits/);
    const ldHalf = { insns: [{ code: BPF_LD | 0x08 | 0x20, jt: 0, jf: 0, k: 0 }], labels: {} };
    expect(() => interp(ldHalf, { nr: 0, arch: 0 })).toThrow(/opcode/);
    const jeqX = { insns: [{ code: BPF_JMP | 0x10 | 0x08, jt: 0, jf: 0, k: 0 }], labels: {} };
    expect(() => interp(jeqX, { nr: 0, arch: 0 })).toThrow(/opcode/);
  });

  it('throws on a misaligned load and on running off the end', () => {
    const misaligned = { insns: [{ code: BPF_LD | BPF_W | 0x20, jt: 0, jf: 0, k: 2 }], labels: {} };
    expect(() => interp(misaligned, { nr: 0, arch: 0 })).toThrow(/ld of offset 2/);
    const offEnd = { insns: [{ code: BPF_ALU | 0x50 | BPF_K, jt: 0, jf: 0, k: 1 }], labels: {} };
    expect(() => interp(offEnd, { nr: 0, arch: 0 })).toThrow(/ran off the program at 1/);
  });
});

describe('decode', () => {
  it.each([
    [ALLOW, { action: 'allow' }],
    [errno(EPERM), { action: 'errno', errno: 1 }],
    [errno(38), { action: 'errno', errno: 38 }],
    [KILL_PROCESS, { action: 'kill_process' }],
    [KILL_THREAD, { action: 'kill_thread' }],
    [trap(7), { action: 'trap', data: 7 }],
    [LOG, { action: 'log' }],
    [0x7ff00005, { action: 'trace', data: 5 }],
    [0x7fc00000, { action: 'user_notif' }],
    // The kernel treats an action it does not know as KILL_PROCESS.
    [0x12340000, { action: 'kill_process' }],
  ])('%s', (ret, verdict) => {
    expect(decode(ret)).toEqual(verdict);
  });
});
