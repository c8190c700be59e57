/**
 * The observer filter of --report-denials: a second, small seccomp program
 * that sends the path syscalls to the supervisor (SECCOMP_RET_USER_NOTIF)
 * and allows everything else. The supervisor lets each notified call go on
 * unchanged (SECCOMP_USER_NOTIF_FLAG_CONTINUE) and only records it:
 * Landlock and the namespace layer's view still enforce, so nothing depends
 * on what the observer read. The kernel takes the most restrictive action
 * across filters, so a call the main filter refuses never reaches it; those
 * are no path denials anyway.
 *
 * Observed: the calls that open, create, remove, rename or execute a path.
 * Not the stat family, access(2), readlink or chdir: Landlock does not
 * restrict them (nothing to report), and they are the bulk of a build's
 * path calls. A syscall from another ABI (or x32) is allowed here: the main
 * filter kills it.
 */
import { Assembler, SeccompData, toBytes, type Program } from './asm.js';
import { syscallNumber, type Arch } from './arch/types.js';
import { SECCOMP_RET_ALLOW, SECCOMP_RET_USER_NOTIF } from './consts.js';

/** What the supervisor reads of a call: up to two [dirfd argument (-1: the
 *  cwd), path argument] pairs, and with deref, the u64 that argument points
 *  at (openat2's how.flags) in its place. */
export interface ObservedCall {
  nr: number;
  name: string;
  paths: Array<[dirfd: number, path: number]>;
  deref?: number;
}

export interface ObserverPlan {
  arch: string;
  program: Program;
  /** struct sock_filter[], installed with SECCOMP_FILTER_FLAG_NEW_LISTENER. */
  bytes: Uint8Array;
  calls: ObservedCall[];
}

/** By name; those the arch lacks (aarch64 has no open, creat, mkdir…) are
 *  left out. */
export const OBSERVED: Readonly<Record<string, Omit<ObservedCall, 'nr' | 'name'>>> = {
  open: { paths: [[-1, 0]] },
  openat: { paths: [[0, 1]] },
  openat2: { paths: [[0, 1]], deref: 2 },
  creat: { paths: [[-1, 0]] },
  truncate: { paths: [[-1, 0]] },
  mkdir: { paths: [[-1, 0]] },
  mkdirat: { paths: [[0, 1]] },
  mknod: { paths: [[-1, 0]] },
  mknodat: { paths: [[0, 1]] },
  rmdir: { paths: [[-1, 0]] },
  unlink: { paths: [[-1, 0]] },
  unlinkat: { paths: [[0, 1]] },
  rename: { paths: [[-1, 0], [-1, 1]] },
  renameat: { paths: [[0, 1], [2, 3]] },
  renameat2: { paths: [[0, 1], [2, 3]] },
  link: { paths: [[-1, 0], [-1, 1]] },
  linkat: { paths: [[0, 1], [2, 3]] },
  symlink: { paths: [[-1, 1]] }, // the link's own path; the target is only text
  symlinkat: { paths: [[1, 2]] },
  execve: { paths: [[-1, 0]] },
  execveat: { paths: [[0, 1]] },
};

export function compileObserver(arch: Arch): ObserverPlan {
  const calls: ObservedCall[] = [];
  for (const [name, c] of Object.entries(OBSERVED)) {
    const nr = syscallNumber(arch, name);
    if (nr !== undefined) calls.push({ nr, name, ...c });
  }
  const a = new Assembler();
  a.ld(SeccompData.arch);
  a.jeq(arch.auditArch, { else: 'allow' }, `AUDIT_ARCH_${arch.name.toUpperCase()}`);
  a.ld(SeccompData.nr);
  if (arch.x32Bit !== undefined) a.jset(arch.x32Bit, { then: 'allow' }, 'x32 ABI');
  for (const c of calls) a.jeq(c.nr, { then: 'notify' }, c.name);
  a.label('allow').ret(SECCOMP_RET_ALLOW);
  a.label('notify').ret(SECCOMP_RET_USER_NOTIF);
  const program = a.assemble();
  return { arch: arch.name, program, bytes: toBytes(program), calls };
}
