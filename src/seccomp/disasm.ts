/**
 * A listing of a filter, one line per instruction, with absolute jump
 * targets, seccomp_data field names and the return actions spelled out
 * (after Chromium's DumpBPF and gVisor's decoder):
 *
 *     0: ld   [arch]
 *     1: jeq  #0xc000003e      → 2 else 170 <kill>
 *     2: ld   [nr]
 *   socket:
 *    60: ld   [args[0].lo]     ; family
 */
import { OP, SeccompData, type Program } from './asm.js';
import {
  ERRNO_NAMES,
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

export interface DisasmOptions {
  /** Names syscall numbers, so that `jeq #41` reads `; socket`. */
  syscallName?: (nr: number) => string | undefined;
}

/** `[nr]`, `[arch]`, `[args[1].lo]`, … */
export function fieldName(offset: number): string {
  if (offset === SeccompData.nr) return 'nr';
  if (offset === SeccompData.arch) return 'arch';
  if (offset === SeccompData.instructionPointerLo) return 'instruction_pointer.lo';
  if (offset === SeccompData.instructionPointerHi) return 'instruction_pointer.hi';
  const i = (offset - SeccompData.argLo(0)) >> 3;
  if (offset === SeccompData.argLo(i)) return `args[${i}].lo`;
  if (offset === SeccompData.argHi(i)) return `args[${i}].hi`;
  return `${offset}`;
}

/** ALLOW, KILL_PROCESS, ERRNO(EPERM), TRAP(0), … */
export function formatRet(k: number): string {
  const data = k & SECCOMP_RET_DATA;
  switch ((k & SECCOMP_RET_ACTION_FULL) >>> 0) {
    case SECCOMP_RET_ALLOW:
      return data ? `ALLOW+${data}` : 'ALLOW';
    case SECCOMP_RET_KILL_PROCESS:
      return data ? `KILL_PROCESS+${data}` : 'KILL_PROCESS';
    case SECCOMP_RET_KILL_THREAD:
      return data ? `KILL_THREAD+${data}` : 'KILL_THREAD';
    case SECCOMP_RET_ERRNO:
      return `ERRNO(${ERRNO_NAMES[data] ?? data})`;
    case SECCOMP_RET_TRAP:
      return `TRAP(${data})`;
    case SECCOMP_RET_TRACE:
      return `TRACE(${data})`;
    case SECCOMP_RET_USER_NOTIF:
      return 'USER_NOTIF';
    case SECCOMP_RET_LOG:
      return 'LOG';
    default:
      return `#0x${k.toString(16)}`;
  }
}

/** Small constants read best in decimal (syscall numbers, families), masks in hex. */
const imm = (k: number) => (k < 0x1000 ? `#${k}` : `#0x${k.toString(16)}`);

const JUMPS: Record<number, string> = { [OP.jeq]: 'jeq', [OP.jgt]: 'jgt', [OP.jge]: 'jge', [OP.jset]: 'jset' };
const RELATION: Record<number, string> = { [OP.jeq]: '', [OP.jgt]: '> ', [OP.jge]: '≥ ', [OP.jset]: '& ' };

/**
 * What the accumulator holds before each instruction: a seccomp_data
 * offset, or -1 when it is computed or differs between the paths that
 * reach it. Jumps go forward only, so one pass sees every predecessor first.
 */
function accumulatorSources(prog: Program): number[] {
  const UNKNOWN = -1;
  const incoming: (number | undefined)[] = new Array(prog.insns.length).fill(undefined);
  const flow = (to: number, value: number) => {
    if (to >= incoming.length) return;
    const had = incoming[to];
    incoming[to] = had === undefined || had === value ? value : UNKNOWN;
  };
  prog.insns.forEach((insn, i) => {
    const before = incoming[i] ?? UNKNOWN;
    if (insn.code === OP.ret) return;
    if (insn.code === OP.ja) return flow(i + 1 + insn.k, before);
    const after = insn.code === OP.ld ? insn.k : insn.code === OP.and ? UNKNOWN : before;
    if (JUMPS[insn.code] !== undefined) {
      flow(i + 1 + insn.jt, after);
      flow(i + 1 + insn.jf, after);
    } else {
      flow(i + 1, after);
    }
  });
  return incoming.map((v) => v ?? UNKNOWN);
}

export function disasm(filter: Program | { program: Program }, opts: DisasmOptions = {}): string {
  const prog = 'program' in filter ? filter.program : filter;
  const width = Math.max(3, String(prog.insns.length - 1).length);
  const labelsAt = new Map<number, string[]>();
  for (const [name, at] of Object.entries(prog.labels)) labelsAt.set(at, [...(labelsAt.get(at) ?? []), name]);
  const target = (to: number) => {
    const names = labelsAt.get(to);
    return names ? `${to} <${names.join(', ')}>` : `${to}`;
  };
  const sources = accumulatorSources(prog);

  const lines: string[] = [];
  prog.insns.forEach((insn, i) => {
    for (const name of labelsAt.get(i) ?? []) lines.push(`${name}:`);
    const { code, jt, jf, k } = insn;
    let text: string;
    const comments: string[] = [];
    if (insn.note !== undefined) comments.push(insn.note);
    const jump = JUMPS[code];
    if (code === OP.ld) text = `ld   [${fieldName(k)}]`;
    else if (code === OP.and) text = `and  ${imm(k)}`;
    else if (code === OP.ret) text = `ret  ${formatRet(k)}`;
    else if (code === OP.ja) text = `ja   → ${target(i + 1 + k)}`;
    else if (jump !== undefined) {
      text = `${jump.padEnd(4)} ${imm(k).padEnd(16)} → ${target(i + 1 + jt)} else ${target(i + 1 + jf)}`;
      const name = sources[i] === SeccompData.nr && code !== OP.jset ? opts.syscallName?.(k) : undefined;
      if (name !== undefined) comments.push(`${RELATION[code] ?? ''}${name}`);
    } else {
      text = `.word code=0x${code.toString(16)} jt=${jt} jf=${jf} k=0x${k.toString(16)}`;
    }
    const line = `${String(i).padStart(width)}: ${text}`;
    lines.push(comments.length ? `${line.padEnd(56)} ; ${comments.join('; ')}` : line);
  });
  return lines.join('\n') + '\n';
}
