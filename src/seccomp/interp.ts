/**
 * Runs a filter the way the kernel would, for tests and `jail explain`
 * (after gVisor's bpf.Exec and minijail's bpf.simulate). It knows exactly
 * the instructions the assembler emits and throws on anything else, so a
 * test cannot pass on an instruction the interpreter merely guessed at.
 */
import { OP, SeccompData, type Program } from './asm.js';
import {
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
} from './consts.js';

/** What the kernel puts in struct seccomp_data. */
export interface SyscallData {
  nr: number;
  arch: number;
  /**
   * Up to six 64-bit register values; missing ones are 0. Leave the whole
   * field out to assert that the filter never reads arguments: a read then
   * throws.
   */
  args?: readonly (bigint | number)[];
  ip?: bigint | number;
}

export interface Execution {
  /** The filter's 32-bit return value. */
  value: number;
  /** Instructions executed, the final ret included. */
  steps: number;
  /** Their indices, in order. */
  path: number[];
  /** seccomp_data offsets loaded, in order. */
  loads: number[];
}

type Filter = Program | { program: Program };

const programOf = (f: Filter): Program => ('program' in f ? f.program : f);

/** A value as the 64 bits of a register (negative numbers two's complement). */
function reg64(v: bigint | number): bigint {
  return BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(v));
}

function word(data: SyscallData, offset: number): number {
  if (offset === SeccompData.nr) return data.nr >>> 0;
  if (offset === SeccompData.arch) return data.arch >>> 0;
  const half = (v: bigint, hi: boolean) => Number(hi ? v >> 32n : v & 0xffffffffn);
  if (offset === SeccompData.instructionPointerLo || offset === SeccompData.instructionPointerHi) {
    return half(reg64(data.ip ?? 0), offset === SeccompData.instructionPointerHi);
  }
  const i = (offset - SeccompData.argLo(0)) >> 3;
  if (data.args === undefined) {
    throw new Error(`the filter read args[${i}] of syscall ${data.nr}, and the caller said it must not (no args given)`);
  }
  return half(reg64(data.args[i] ?? 0), offset === SeccompData.argHi(i));
}

/** Runs `filter` on `data`; throws on an instruction the assembler never emits. */
export function execute(filter: Filter, data: SyscallData): Execution {
  const { insns } = programOf(filter);
  const path: number[] = [];
  const loads: number[] = [];
  let a = 0;
  let pc = 0;
  for (;;) {
    const insn = insns[pc];
    if (insn === undefined) throw new Error(`interp: ran off the program at ${pc} (it has ${insns.length} instructions)`);
    path.push(pc);
    const { code, jt, jf, k } = insn;
    let next = pc + 1;
    switch (code) {
      case OP.ld:
        if (k % 4 !== 0 || k >= SeccompData.size) throw new Error(`interp: ld of offset ${k} at ${pc}`);
        loads.push(k);
        a = word(data, k);
        break;
      case OP.and:
        a = (a & k) >>> 0;
        break;
      case OP.ja:
        next = pc + 1 + k;
        break;
      case OP.jeq:
        next = pc + 1 + (a === k ? jt : jf);
        break;
      case OP.jgt:
        next = pc + 1 + (a > k ? jt : jf);
        break;
      case OP.jge:
        next = pc + 1 + (a >= k ? jt : jf);
        break;
      case OP.jset:
        next = pc + 1 + ((a & k) !== 0 ? jt : jf);
        break;
      case OP.ret:
        return { value: k >>> 0, steps: path.length, path, loads };
      default:
        throw new Error(`interp: opcode 0x${code.toString(16)} at ${pc} is not one the assembler emits`);
    }
    pc = next;
  }
}

/** The filter's 32-bit return value for `data`. */
export function interp(filter: Filter, data: SyscallData): number {
  return execute(filter, data).value;
}

// ── Return values, for comparing in tests and for printing.

export const ALLOW = SECCOMP_RET_ALLOW;
export const KILL_PROCESS = SECCOMP_RET_KILL_PROCESS;
export const KILL_THREAD = SECCOMP_RET_KILL_THREAD;
export const LOG = SECCOMP_RET_LOG;
export const errno = (e: number): number => (SECCOMP_RET_ERRNO | (e & SECCOMP_RET_DATA)) >>> 0;
export const trap = (data = 0): number => (SECCOMP_RET_TRAP | (data & SECCOMP_RET_DATA)) >>> 0;

export type Verdict =
  | { action: 'allow' }
  | { action: 'errno'; errno: number }
  | { action: 'kill_process' }
  | { action: 'kill_thread' }
  | { action: 'trap'; data: number }
  | { action: 'trace'; data: number }
  | { action: 'user_notif' }
  | { action: 'log' };

/** What the kernel does with a filter's return value. */
export function decode(ret: number): Verdict {
  const data = ret & SECCOMP_RET_DATA;
  switch ((ret & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_ALLOW:
      return { action: 'allow' };
    case SECCOMP_RET_ERRNO:
      return { action: 'errno', errno: data };
    case SECCOMP_RET_KILL_THREAD:
      return { action: 'kill_thread' };
    case SECCOMP_RET_TRAP:
      return { action: 'trap', data };
    case SECCOMP_RET_TRACE:
      return { action: 'trace', data };
    case SECCOMP_RET_USER_NOTIF:
      return { action: 'user_notif' };
    case SECCOMP_RET_LOG:
      return { action: 'log' };
    default:
      // KILL_PROCESS, and what the kernel does with an unknown action.
      return { action: 'kill_process' };
  }
}
