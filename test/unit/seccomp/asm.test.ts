import { describe, expect, it } from 'vitest';
import { AssembleError, Assembler, fromBytes, OP, SeccompData, toBytes } from '../../../src/seccomp/asm.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO, SECCOMP_RET_KILL_PROCESS } from '../../../src/seccomp/consts.js';

const ALLOW = SECCOMP_RET_ALLOW;
const KILL = SECCOMP_RET_KILL_PROCESS;

describe('Assembler', () => {
  it('resolves labels to jt/jf offsets, and an omitted side falls through', () => {
    const a = new Assembler();
    a.ld(SeccompData.arch);
    a.jeq(0xc000003e, { else: 'kill' });
    a.ld(SeccompData.nr);
    a.jeq(41, { then: 'deny' });
    a.jset(0x40000000, { then: 'kill', else: 'allow' });
    a.label('allow').ret(ALLOW);
    a.label('deny').ret(SECCOMP_RET_ERRNO | 1);
    a.label('kill').ret(KILL);
    const p = a.assemble();
    expect(p.labels).toEqual({ allow: 5, deny: 6, kill: 7 });
    expect(p.insns.map(({ code, jt, jf, k }) => [code, jt, jf, k])).toEqual([
      [OP.ld, 0, 0, 4],
      [OP.jeq, 0, 5, 0xc000003e],
      [OP.ld, 0, 0, 0],
      [OP.jeq, 2, 0, 41],
      [OP.jset, 2, 0, 0x40000000],
      [OP.ret, 0, 0, ALLOW],
      [OP.ret, 0, 0, SECCOMP_RET_ERRNO | 1],
      [OP.ret, 0, 0, KILL],
    ]);
  });

  it('keeps notes for the disassembler and leaves anonymous labels out', () => {
    const a = new Assembler();
    const next = a.fresh();
    a.ld(SeccompData.nr, 'the number');
    a.jge(10, { then: next, else: 'out' });
    a.label(next).and(0xff).ret(ALLOW);
    a.label('out').ret(KILL);
    const p = a.assemble();
    expect(p.labels).toEqual({ out: 4 });
    expect(p.insns[0]?.note).toBe('the number');
    expect(p.insns[1]).toEqual({ code: OP.jge, jt: 0, jf: 2, k: 10 });
  });

  it('encodes ja with a 32-bit offset, so it reaches past 255', () => {
    const a = new Assembler();
    a.ld(SeccompData.nr).ja('far');
    for (let i = 0; i < 300; i++) a.ret(KILL);
    a.label('far').ret(ALLOW);
    const p = a.assemble();
    expect(p.insns[1]).toEqual({ code: OP.ja, jt: 0, jf: 0, k: 300 });
  });

  it('allows a conditional jump of exactly 255', () => {
    const a = new Assembler();
    a.ld(SeccompData.nr).jeq(1, { then: 'far' });
    for (let i = 0; i < 255; i++) a.ret(KILL);
    a.label('far').ret(ALLOW);
    expect(a.assemble().insns[1]?.jt).toBe(255);
  });

  describe('refuses', () => {
    const fails = (build: (a: Assembler) => void, message: RegExp) => {
      const a = new Assembler();
      expect(() => {
        build(a);
        a.assemble();
      }).toThrow(message);
    };

    it('a backward jump, naming the label', () =>
      fails((a) => a.ld(0).label('top').jeq(1, { then: 'top' }).ret(ALLOW), /backward jump to "top" \(at 1\) from instruction 1/));

    it('a jump to an earlier instruction', () =>
      fails((a) => a.label('top').ld(0).jeq(1, { then: 'top' }).ret(ALLOW), /backward jump to "top"/));

    it('an unknown label', () => fails((a) => a.ld(0).jeq(1, { then: 'nowhere' }).ret(ALLOW), /unknown label "nowhere"/));

    it('an unknown label of ja', () => fails((a) => a.ja('nowhere').ret(ALLOW), /unknown label "nowhere" at instruction 0/));

    it('a label defined twice', () =>
      fails((a) => a.label('x').ld(0).label('x').ret(ALLOW), /label "x" is defined twice \(at 0 and 1\)/));

    it('a conditional jump further than 255, naming the label', () =>
      fails((a) => {
        a.ld(0).jeq(1, { else: 'allow' });
        for (let i = 0; i < 256; i++) a.ret(KILL);
        a.label('allow').ret(ALLOW);
      }, /conditional jump at 1 to "allow" \(at 258\) skips 256 instructions; jt\/jf reach at most 255/));

    it('more than 4096 instructions', () =>
      fails((a) => {
        for (let i = 0; i < 4097; i++) a.ret(ALLOW);
      }, /4097 instructions; the kernel accepts at most 4096/));

    it('a last instruction that is not ret', () => fails((a) => a.ret(ALLOW).ld(0), /last instruction \(1\) must be ret/));

    it('an empty program', () => fails(() => {}, /empty/));

    it('a label after the last instruction', () => fails((a) => a.ret(ALLOW).label('end'), /label "end" is at the end/));
  });

  it('accepts exactly 4096 instructions', () => {
    const a = new Assembler();
    for (let i = 0; i < 4096; i++) a.ret(ALLOW);
    expect(a.assemble().insns).toHaveLength(4096);
  });

  it('checks operands as it goes', () => {
    const a = new Assembler();
    expect(() => a.ld(2)).toThrow(AssembleError);
    expect(() => a.ld(64)).toThrow(/not an aligned word/);
    expect(() => a.jeq(-1, { then: 'x' })).toThrow(/not a 32-bit unsigned value/);
    expect(() => a.ret(2 ** 32)).toThrow(/not a 32-bit unsigned value/);
    expect(() => a.jeq(1, {})).toThrow(/give a then or an else label/);
  });

  it('lays out seccomp_data as the kernel does on little-endian machines', () => {
    expect([SeccompData.nr, SeccompData.arch, SeccompData.instructionPointerLo, SeccompData.instructionPointerHi]).toEqual([0, 4, 8, 12]);
    expect([0, 1, 5].map(SeccompData.argLo)).toEqual([16, 24, 56]);
    expect([0, 1, 5].map(SeccompData.argHi)).toEqual([20, 28, 60]);
  });
});

describe('toBytes', () => {
  it('writes struct sock_filter little-endian: u16 code, u8 jt, u8 jf, u32 k', () => {
    const a = new Assembler();
    a.ld(SeccompData.arch).jeq(0xc000003e, { then: 'ok', else: 'kill' }).label('ok').ret(ALLOW).label('kill').ret(KILL);
    const bytes = toBytes(a.assemble());
    expect([...bytes]).toEqual([
      0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, // ld [4]
      0x15, 0x00, 0x00, 0x01, 0x3e, 0x00, 0x00, 0xc0, // jeq #0xc000003e, jt 0, jf 1
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f, // ret ALLOW
      0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, // ret KILL_PROCESS
    ]);
    expect(fromBytes(bytes).insns).toEqual(a.assemble().insns);
  });

  it('fromBytes refuses a length that is not a multiple of 8', () => {
    expect(() => fromBytes(new Uint8Array(12))).toThrow(/not a whole number/);
  });
});
