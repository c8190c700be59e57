/**
 * A classic-BPF assembler for seccomp filters, with named labels so that
 * nobody computes jt/jf by hand (after gVisor's ProgramBuilder). It emits
 * only what seccomp needs: loads from seccomp_data, AND, conditional jumps
 * against constants, ja and ret. assemble() resolves labels and checks what
 * the kernel would refuse, naming the label at fault.
 */
import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
} from './consts.js';

/** struct sock_filter. `note` is ours: a comment for the disassembler. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
  note?: string;
}

export interface Program {
  insns: Insn[];
  /** Named labels → instruction index (anonymous `.L` labels left out). */
  labels: Record<string, number>;
}

export type Label = string;

/** Where a conditional jump goes; an omitted side falls through. */
export interface Branch {
  then?: Label;
  else?: Label;
}

/**
 * Offsets into struct seccomp_data: int nr; __u32 arch; __u64
 * instruction_pointer; __u64 args[6]. BPF loads 32-bit words, so a 64-bit
 * field is two loads; both our arches are little-endian, so the low word
 * comes first.
 */
export const SeccompData = {
  nr: 0,
  arch: 4,
  instructionPointerLo: 8,
  instructionPointerHi: 12,
  /** Low 32 bits of args[i]: all of an `int` or `unsigned int` argument. */
  argLo: (i: number): number => 16 + 8 * i,
  argHi: (i: number): number => 20 + 8 * i,
  size: 64,
} as const;

export const OP = {
  ld: BPF_LD | BPF_W | BPF_ABS,
  and: BPF_ALU | BPF_AND | BPF_K,
  ja: BPF_JMP | BPF_JA,
  jeq: BPF_JMP | BPF_JEQ | BPF_K,
  jgt: BPF_JMP | BPF_JGT | BPF_K,
  jge: BPF_JMP | BPF_JGE | BPF_K,
  jset: BPF_JMP | BPF_JSET | BPF_K,
  ret: BPF_RET | BPF_K,
} as const;

export class AssembleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssembleError';
  }
}

type Item =
  | { kind: 'insn'; insn: Insn }
  | { kind: 'cond'; code: number; k: number; branch: Branch; note?: string }
  | { kind: 'ja'; target: Label; note?: string };

const MNEMONIC: Record<number, string> = { [OP.jeq]: 'jeq', [OP.jgt]: 'jgt', [OP.jge]: 'jge', [OP.jset]: 'jset' };

function u32(k: number, what: string): number {
  if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) throw new AssembleError(`${what}: ${k} is not a 32-bit unsigned value`);
  return k;
}

export class Assembler {
  private readonly items: Item[] = [];
  private readonly labelAt = new Map<Label, number>();
  private readonly duplicates: string[] = [];
  private anonymous = 0;

  /** Number of instructions so far. */
  get length(): number {
    return this.items.length;
  }

  /** A = the 32-bit word at `offset` in seccomp_data. */
  ld(offset: number, note?: string): this {
    if (!Number.isInteger(offset) || offset < 0 || offset >= SeccompData.size || offset % 4 !== 0) {
      throw new AssembleError(`ld: offset ${offset} is not an aligned word of seccomp_data`);
    }
    return this.insn({ code: OP.ld, jt: 0, jf: 0, k: offset }, note);
  }

  /** A &= k. */
  and(k: number, note?: string): this {
    return this.insn({ code: OP.and, jt: 0, jf: 0, k: u32(k, 'and') }, note);
  }

  /** if (A == k) goto then else goto else. */
  jeq(k: number, branch: Branch, note?: string): this {
    return this.cond(OP.jeq, k, branch, note);
  }
  /** if (A > k), unsigned. */
  jgt(k: number, branch: Branch, note?: string): this {
    return this.cond(OP.jgt, k, branch, note);
  }
  /** if (A >= k), unsigned. */
  jge(k: number, branch: Branch, note?: string): this {
    return this.cond(OP.jge, k, branch, note);
  }
  /** if (A & k) != 0. */
  jset(k: number, branch: Branch, note?: string): this {
    return this.cond(OP.jset, k, branch, note);
  }

  /** Unconditional jump; its 32-bit offset reaches anywhere. */
  ja(target: Label, note?: string): this {
    this.items.push(note === undefined ? { kind: 'ja', target } : { kind: 'ja', target, note });
    return this;
  }

  /** Return k (a SECCOMP_RET_* action, with data). */
  ret(k: number, note?: string): this {
    return this.insn({ code: OP.ret, jt: 0, jf: 0, k: u32(k, 'ret') }, note);
  }

  /** Name the next instruction. */
  label(name: Label): this {
    const at = this.labelAt.get(name);
    if (at !== undefined) this.duplicates.push(`label "${name}" is defined twice (at ${at} and ${this.items.length})`);
    else this.labelAt.set(name, this.items.length);
    return this;
  }

  /** A new label that the disassembler does not name. */
  fresh(): Label {
    return `.L${this.anonymous++}`;
  }

  assemble(): Program {
    const [duplicate] = this.duplicates;
    if (duplicate !== undefined) throw new AssembleError(duplicate);
    const n = this.items.length;
    if (n === 0) throw new AssembleError('the program is empty; it must end with ret');
    if (n > BPF_MAXINSNS) throw new AssembleError(`the program has ${n} instructions; the kernel accepts at most ${BPF_MAXINSNS}`);
    for (const [name, at] of this.labelAt) {
      if (at >= n) throw new AssembleError(`label "${name}" is at the end of the program, with no instruction after it`);
    }

    // Offset from the instruction after `from` to `label`, checked.
    const offset = (from: number, label: Label, limit: number): number => {
      const to = this.labelAt.get(label);
      if (to === undefined) throw new AssembleError(`jump to unknown label "${label}" at instruction ${from}`);
      if (to <= from) {
        throw new AssembleError(`backward jump to "${label}" (at ${to}) from instruction ${from}: seccomp BPF jumps only forward`);
      }
      const off = to - from - 1;
      if (off > limit) {
        throw new AssembleError(
          `conditional jump at ${from} to "${label}" (at ${to}) skips ${off} instructions; jt/jf reach at most ${limit}. ` +
            `Move "${label}" closer or jump to a ja.`,
        );
      }
      return off;
    };

    const insns = this.items.map((item, i): Insn => {
      switch (item.kind) {
        case 'insn':
          return item.insn;
        case 'ja':
          return withNote({ code: OP.ja, jt: 0, jf: 0, k: offset(i, item.target, 0xffffffff) }, item.note);
        case 'cond': {
          const jt = item.branch.then === undefined ? 0 : offset(i, item.branch.then, 255);
          const jf = item.branch.else === undefined ? 0 : offset(i, item.branch.else, 255);
          return withNote({ code: item.code, jt, jf, k: item.k }, item.note);
        }
      }
    });

    const last = insns[n - 1];
    if (last === undefined || last.code !== OP.ret) {
      throw new AssembleError(`the last instruction (${n - 1}) must be ret, so that no path runs off the end`);
    }
    const labels: Record<string, number> = {};
    for (const [name, at] of this.labelAt) if (!name.startsWith('.')) labels[name] = at;
    return { insns, labels };
  }

  private insn(insn: Insn, note: string | undefined): this {
    this.items.push({ kind: 'insn', insn: withNote(insn, note) });
    return this;
  }

  private cond(code: number, k: number, branch: Branch, note: string | undefined): this {
    const name = MNEMONIC[code] ?? 'jump';
    if (branch.then === undefined && branch.else === undefined) {
      throw new AssembleError(`${name} #${k}: give a then or an else label (both falling through does nothing)`);
    }
    const item: Item = { kind: 'cond', code, k: u32(k, name), branch };
    if (note !== undefined) item.note = note;
    this.items.push(item);
    return this;
  }
}

function withNote(insn: Insn, note: string | undefined): Insn {
  return note === undefined ? insn : { ...insn, note };
}

/** struct sock_filter[], little-endian: u16 code, u8 jt, u8 jf, u32 k. */
export function toBytes(prog: Program): Uint8Array {
  const bytes = new Uint8Array(prog.insns.length * 8);
  const view = new DataView(bytes.buffer);
  prog.insns.forEach((insn, i) => {
    view.setUint16(i * 8, insn.code, true);
    view.setUint8(i * 8 + 2, insn.jt);
    view.setUint8(i * 8 + 3, insn.jf);
    view.setUint32(i * 8 + 4, insn.k, true);
  });
  return bytes;
}

/** The inverse of toBytes (labels and notes are not in the bytes). */
export function fromBytes(bytes: Uint8Array): Program {
  if (bytes.length % 8 !== 0) throw new AssembleError(`${bytes.length} bytes is not a whole number of 8-byte instructions`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const insns: Insn[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    insns.push({ code: view.getUint16(at, true), jt: view.getUint8(at + 2), jf: view.getUint8(at + 3), k: view.getUint32(at + 4, true) });
  }
  return { insns, labels: {} };
}
