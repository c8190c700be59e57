/**
 * SeccompRules + Arch → a seccomp filter. The program reads top to bottom
 * as the kernel runs it:
 *
 *   1. a syscall from another ABI is killed (checkArch, rejectX32);
 *   2. a binary search on the syscall number (dispatch) sends each number
 *      to allow, to a shared errno return, or to the argument check of its
 *      syscall. Allowed syscalls never load an argument, so the kernel's
 *      seccomp action cache can skip the filter for them altogether;
 *   3. the argument checks (socket, ioctl, clone, chmod, …) each end in a jump to
 *      the shared returns.
 */
import { Assembler, SeccompData, toBytes, type Label, type Program } from './asm.js';
import { findArch } from './arch/index.js';
import { syscallName, type Arch } from './arch/types.js';
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_PACKET,
  AF_UNIX,
  CLONE_NEW_ANY,
  ENOSYS,
  EOPNOTSUPP,
  EPERM,
  IOPRIO_WHO_PROCESS,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MSG_FASTOPEN,
  NETLINK_ROUTE,
  PER_LINUX,
  PER_QUERY,
  PRIO_PROCESS,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  SOCK_PACKET,
  SOCK_RAW,
  SOCK_STREAM,
  S_ISGID,
  S_ISUID,
  TIOCLINUX,
  TIOCSETD,
  TIOCSTI,
} from './consts.js';
import { disasm } from './disasm.js';
import { decide, type Check, type Decisions, type Rule, type SeccompRules, type Treatment } from './rules.js';

export type { Rule, SeccompRules } from './rules.js';
export { UnknownSyscallError } from './rules.js';

export interface SeccompPlan {
  arch: string;
  program: Program;
  /** struct sock_filter[] for seccomp(SECCOMP_SET_MODE_FILTER). */
  bytes: Uint8Array;
  rules: Rule[];
}

// Shared returns, at the end of the program.
const ALLOW = 'allow';
const DENY = 'deny';
const NOSYS = 'enosys';
const NOTSUPP = 'eopnotsupp';
const KILL = 'kill';
// Off the hot path: numbers above the table, and (x86_64) the x32 bit.
const UNKNOWN = 'unknown';
const X32 = 'x32';

/** seccomp_data.nr of a tracer-skipped syscall (and of syscall(-1)). */
const NR_SKIPPED = 0xffffffff;

/**
 * Throws UnknownSyscallError if rules.allowSyscalls names a syscall that
 * `arch` does not have.
 */
export function compileSeccomp(rules: SeccompRules, arch: Arch): SeccompPlan {
  const decisions = decide(rules, arch);
  const a = new Assembler();
  checkArch(a, arch); // another ABI: kill
  a.ld(SeccompData.nr); // from here on, the syscall number
  rejectX32(a, arch); // x32: kill
  dispatch(a, decisions); // allow, an errno, or one of:
  const used = argumentChecks(a, rules, decisions);
  returns(a, arch, used.has('sendto') || used.has('sendmsg'));
  const program = a.assemble();
  return { arch: arch.name, program, bytes: toBytes(program), rules: decisions.rules };
}

/**
 * Syscall numbers mean something only for one ABI: the same CPU also runs
 * 32-bit code (int 0x80 on x86_64, AArch32 on arm64) with other numbers.
 */
function checkArch(a: Assembler, arch: Arch): void {
  a.ld(SeccompData.arch);
  a.jeq(arch.auditArch, { else: KILL }, `AUDIT_ARCH_${arch.name.toUpperCase()}`);
}

/** x32 syscalls share x86_64's audit arch; only bit 30 of nr tells them apart. */
function rejectX32(a: Assembler, arch: Arch): void {
  if (arch.x32Bit !== undefined) a.jset(arch.x32Bit, { then: X32 }, 'x32 ABI');
}

interface Interval {
  /** First syscall number of the interval; it ends where the next begins. */
  lo: number;
  target: Label;
}

function labelOf(t: Treatment): Label {
  if (t.kind === 'check') return t.check;
  if (t.errno === EPERM) return DENY;
  if (t.errno === ENOSYS) return NOSYS;
  throw new Error(`no shared return for errno ${t.errno}`);
}

/** [0, 2^32) cut into runs of numbers that go to the same place. */
function intervals(d: Decisions): Interval[] {
  const out: Interval[] = [];
  const push = (lo: number, target: Label) => {
    if (out[out.length - 1]?.target !== target) out.push({ lo, target });
  };
  for (let nr = 0; nr <= d.maxNr; nr++) {
    const t = d.byNr.get(nr);
    // Gaps in the table are allowed: the kernel answers ENOSYS itself.
    push(nr, t ? labelOf(t) : ALLOW);
  }
  push(d.maxNr + 1, UNKNOWN);
  return out;
}

/**
 * A balanced binary search over the intervals: ⌈log2 n⌉ `jge` for any
 * number, and nothing but the number is read. Each subtree follows its
 * parent, so all jumps go forward.
 */
function dispatch(a: Assembler, d: Decisions): void {
  const runs = intervals(d);
  const search = (lo: number, hi: number): void => {
    const mid = (lo + hi + 1) >> 1;
    const pivot = runs[mid];
    if (pivot === undefined) throw new Error('dispatch: empty interval');
    // A side of one interval is its target; a wider one is a subtree,
    // emitted after this jge under a fresh label.
    const side = (from: number, to: number): { label: Label; subtree: boolean } => {
      const only = runs[from];
      return from === to && only ? { label: only.target, subtree: false } : { label: a.fresh(), subtree: true };
    };
    const below = side(lo, mid - 1);
    const above = side(mid, hi);
    a.jge(pivot.lo, { then: above.label, else: below.label });
    if (below.subtree) {
      a.label(below.label);
      search(lo, mid - 1);
    }
    if (above.subtree) {
      a.label(above.label);
      search(mid, hi);
    }
  };
  const [only] = runs;
  if (runs.length === 1 && only) a.ja(only.target);
  else search(0, runs.length - 1);
}

/** The argument checks that some syscall number dispatches to, in order. */
function argumentChecks(a: Assembler, rules: SeccompRules, d: Decisions): Set<Check> {
  const used = new Set<Check>();
  for (const t of d.byNr.values()) if (t.kind === 'check') used.add(t.check);
  const emit: Record<Check, () => void> = {
    socket: () => socketCheck(a, rules),
    ioctl: () => ioctlCheck(a),
    clone: () => cloneCheck(a),
    personality: () => personalityCheck(a),
    'pid-self': () => pidSelfCheck(a),
    'setpriority-self': () => whoSelfCheck(a, 'setpriority-self', PRIO_PROCESS, 'PRIO_PROCESS'),
    'ioprio-self': () => whoSelfCheck(a, 'ioprio-self', IOPRIO_WHO_PROCESS, 'IOPRIO_WHO_PROCESS'),
    chmod: () => setidModeCheck(a, 'chmod', 1),
    fchmodat: () => setidModeCheck(a, 'fchmodat', 2),
    sendto: () => fastOpenCheck(a, 'sendto', 3),
    sendmsg: () => fastOpenCheck(a, 'sendmsg', 2),
  };
  for (const check of Object.keys(emit) as Check[]) if (used.has(check)) emit[check]();
  return used;
}

// Every check below compares the low 32 bits of an argument only. Each of
// these arguments is an int, an unsigned int or a umode_t in the kernel,
// which ignores the high half of the register: comparing 64 bits would let
// a caller with garbage in the high half slip past an EPERM.

/**
 * socket(family, type, protocol). Landlock rules say where some sockets
 * may connect or bind, not which sockets may exist: that is decided here.
 */
function socketCheck(a: Assembler, r: SeccompRules): void {
  const INET = 'socket.inet';
  const NETLINK = 'socket.netlink';
  const inetChecked = r.inet !== 'all' || !r.rawSockets;
  const inetAny = r.inet !== 'none' || r.udp || r.rawSockets;

  a.label('socket');
  a.ld(SeccompData.argLo(0), 'family');
  if (inetAny) {
    const inet = inetChecked ? INET : ALLOW;
    a.jeq(AF_INET, { then: inet }, 'AF_INET');
    a.jeq(AF_INET6, { then: inet }, 'AF_INET6');
  }
  if (r.unix) a.jeq(AF_UNIX, { then: ALLOW }, 'AF_UNIX');
  a.jeq(AF_NETLINK, { then: NETLINK }, 'AF_NETLINK');
  if (r.rawSockets) a.jeq(AF_PACKET, { then: ALLOW }, 'AF_PACKET');
  a.ja(DENY, 'any other family');

  // Interface listing (getifaddrs, `ip addr`) needs rtnetlink; other
  // netlink families (audit, netfilter, uevents, …) are refused.
  a.label(NETLINK);
  a.ld(SeccompData.argLo(2), 'protocol');
  a.jeq(NETLINK_ROUTE, { then: ALLOW, else: DENY }, 'NETLINK_ROUTE');

  if (!inetAny || !inetChecked) return;
  a.label(INET);
  a.ld(SeccompData.argLo(1), 'type');
  // The kernel accepts exactly two flag bits beside the type
  // (SOCK_TYPE_MASK is 0xf) and fails anything else with EINVAL. Clearing
  // just those two and comparing the rest whole means a flag some future
  // kernel adds is refused here rather than ignored: it fails closed.
  a.and(~(SOCK_NONBLOCK | SOCK_CLOEXEC) >>> 0, 'without SOCK_NONBLOCK, SOCK_CLOEXEC');
  if (r.inet === 'all') {
    // __sock_create() turns (AF_INET, SOCK_PACKET) into an AF_PACKET
    // socket, so SOCK_PACKET is refused with SOCK_RAW.
    a.jeq(SOCK_RAW, { then: DENY }, 'SOCK_RAW');
    a.jeq(SOCK_PACKET, { then: DENY, else: ALLOW }, 'SOCK_PACKET');
    return;
  }
  // TCP, with protocol 0 or IPPROTO_TCP: not IPPROTO_MPTCP, which
  // Landlock's TCP rules do not cover.
  if (r.inet === 'tcp-only') a.jeq(SOCK_STREAM, { then: 'socket.tcp' }, 'SOCK_STREAM');
  if (r.udp) a.jeq(SOCK_DGRAM, { then: 'socket.udp' }, 'SOCK_DGRAM');
  if (r.rawSockets) a.jeq(SOCK_RAW, { then: ALLOW }, 'SOCK_RAW');
  a.ja(DENY, 'any other type');
  if (r.inet === 'tcp-only') protocolCheck(a, 'socket.tcp', IPPROTO_TCP, 'IPPROTO_TCP');
  if (r.udp) protocolCheck(a, 'socket.udp', IPPROTO_UDP, 'IPPROTO_UDP');
}

function protocolCheck(a: Assembler, label: Label, protocol: number, name: string): void {
  a.label(label);
  a.ld(SeccompData.argLo(2), 'protocol');
  a.jeq(0, { then: ALLOW }, 'default protocol');
  a.jeq(protocol, { then: ALLOW, else: DENY }, name);
}

/** ioctl(fd, request): the request is an unsigned int. */
function ioctlCheck(a: Assembler): void {
  a.label('ioctl');
  a.ld(SeccompData.argLo(1), 'request');
  a.jeq(TIOCSTI, { then: DENY }, 'TIOCSTI');
  a.jeq(TIOCLINUX, { then: DENY }, 'TIOCLINUX');
  a.jeq(TIOCSETD, { then: DENY, else: ALLOW }, 'TIOCSETD');
}

/**
 * clone(flags, …): flags is arg 0 on both arches, and the kernel reads
 * only its low 32 bits. CLONE_NEWTIME (0x80) lies inside the exit-signal
 * byte for clone(); no signal number has that bit, so refusing it costs
 * nothing.
 */
function cloneCheck(a: Assembler): void {
  a.label('clone');
  a.ld(SeccompData.argLo(0), 'flags');
  a.jset(CLONE_NEW_ANY, { then: DENY, else: ALLOW }, 'CLONE_NEW*');
}

/** personality(persona): only Linux itself, or a query. */
function personalityCheck(a: Assembler): void {
  a.label('personality');
  a.ld(SeccompData.argLo(0), 'persona');
  a.jeq(PER_LINUX, { then: ALLOW }, 'PER_LINUX');
  a.jeq(PER_QUERY, { then: ALLOW, else: DENY }, 'query');
}

/** Syscalls whose arg 0 is a pid_t: 0 means the caller. */
function pidSelfCheck(a: Assembler): void {
  a.label('pid-self');
  a.ld(SeccompData.argLo(0), 'pid');
  a.jeq(0, { then: ALLOW, else: DENY }, 'the caller');
}

/**
 * setpriority(which, who, …) and ioprio_set(which, who, …): who = 0 means
 * the caller only when `which` selects a process; with a process group or
 * a user it reaches every process in it, inside the jail or not.
 */
function whoSelfCheck(a: Assembler, label: Label, which: number, whichName: string): void {
  a.label(label);
  a.ld(SeccompData.argLo(0), 'which');
  a.jeq(which, { else: DENY }, whichName);
  a.ld(SeccompData.argLo(1), 'who');
  a.jeq(0, { then: ALLOW, else: DENY }, 'the caller');
}

/**
 * chmod(path, mode), fchmod(fd, mode), fchmodat(dfd, path, mode) and
 * fchmodat2(dfd, path, mode, flags): no set-user-ID or set-group-ID bit.
 * The kernel reads mode as a umode_t (the low 16 bits), so garbage above
 * is ignored by both. A mode without either bit passes, so clearing one
 * works; a mode with one is refused even when the file has it already (the
 * filter cannot see the file), as when GNU chmod keeps a directory's setgid
 * bit through `chmod 755 DIR`.
 */
function setidModeCheck(a: Assembler, label: Label, arg: number): void {
  a.label(label);
  a.ld(SeccompData.argLo(arg), 'mode');
  a.jset(S_ISUID | S_ISGID, { then: DENY, else: ALLOW }, 'S_ISUID | S_ISGID');
}

/**
 * sendto(fd, buf, len, flags, …), sendmmsg(fd, vec, n, flags) and
 * sendmsg(fd, msg, flags): no MSG_FASTOPEN. The flags are an unsigned int
 * (int for sendto), so the kernel reads the low 32 bits only. On a
 * connected socket the flag changes nothing; on an unconnected TCP socket
 * it connects, and Landlock's check lives in connect() alone.
 */
function fastOpenCheck(a: Assembler, label: Label, arg: number): void {
  a.label(label);
  a.ld(SeccompData.argLo(arg), 'flags');
  a.jset(MSG_FASTOPEN, { then: NOTSUPP, else: ALLOW }, 'MSG_FASTOPEN');
}

/**
 * The shared returns. nr = -1 is what a tracer (strace -e inject, gdb)
 * leaves when it skips a syscall, and it runs nothing, so it is allowed
 * rather than killed or answered: the tracer's own return value stands.
 */
function returns(a: Assembler, arch: Arch, notsupp: boolean): void {
  if (arch.x32Bit !== undefined) {
    a.label(X32);
    a.jeq(NR_SKIPPED, { then: ALLOW, else: KILL }, 'skipped by a tracer');
  }
  a.label(UNKNOWN);
  a.jeq(NR_SKIPPED, { then: ALLOW, else: NOSYS }, 'skipped by a tracer');
  a.label(ALLOW).ret(SECCOMP_RET_ALLOW);
  a.label(DENY).ret(SECCOMP_RET_ERRNO | EPERM);
  a.label(NOSYS).ret(SECCOMP_RET_ERRNO | ENOSYS);
  if (notsupp) a.label(NOTSUPP).ret(SECCOMP_RET_ERRNO | EOPNOTSUPP);
  a.label(KILL).ret(SECCOMP_RET_KILL_PROCESS);
}

/** The filter in words and as a listing, for --print-policy. */
export function describeSeccomp(plan: SeccompPlan, arch: Arch | undefined = findArch(plan.arch)): string {
  const out = [
    `seccomp: ${plan.arch}, ${plan.program.insns.length} instructions` +
      (arch ? `, syscall table from Linux ${arch.kernel.version}` : ''),
  ];
  // One line per (action, reason), naming every syscall it covers.
  const groups = new Map<string, { action: string; reason: string; syscalls: string[] }>();
  for (const rule of plan.rules) {
    const key = `${rule.action}\n${rule.reason}`;
    const group = groups.get(key);
    if (group) group.syscalls.push(rule.syscall);
    else groups.set(key, { action: rule.action, reason: rule.reason, syscalls: [rule.syscall] });
  }
  for (const g of groups.values()) out.push(`  ${g.syscalls.join(', ')}: ${g.action}`, `      ${g.reason}`);
  out.push('  program:');
  const listing = disasm(plan.program, arch ? { syscallName: (nr) => syscallName(arch, nr) } : {});
  out.push(...listing.trimEnd().split('\n').map((line) => `    ${line}`));
  return out.join('\n');
}
