/**
 * What the filter needs to know about a CPU architecture: how the kernel
 * labels its syscalls (the audit arch), which other ABIs the same CPU can
 * enter the kernel through, and its syscall numbers. The tables are
 * generated from the kernel's own syscall tables by tools/gen-syscalls.mjs.
 */

export type ArchName = 'x86_64' | 'aarch64';

export interface Arch {
  readonly name: ArchName;
  /** seccomp_data.arch of this ABI's syscalls (AUDIT_ARCH_*). */
  readonly auditArch: number;
  /**
   * x86_64 only: x32-ABI syscalls arrive with the same audit arch and
   * nr | this bit, so the filter must check the bit itself.
   */
  readonly x32Bit?: number;
  /** Audit arches of the other ABIs this CPU can run (i386, arm); killed. */
  readonly foreign: readonly number[];
  /** Where the syscall table came from. */
  readonly kernel: {
    readonly version: string;
    readonly repo: string;
    readonly commit: string;
    readonly path: string;
  };
  /** name → number, for the native ABI only. */
  readonly syscalls: Readonly<Record<string, number>>;
}

/** The number of `name` on `arch`, or undefined (not a prototype key). */
export function syscallNumber(arch: Arch, name: string): number | undefined {
  return Object.hasOwn(arch.syscalls, name) ? arch.syscalls[name] : undefined;
}

const byNumber = new WeakMap<Arch, Map<number, string>>();

/** The name of syscall `nr` on `arch`, or undefined. */
export function syscallName(arch: Arch, nr: number): string | undefined {
  let names = byNumber.get(arch);
  if (!names) {
    names = new Map(Object.entries(arch.syscalls).map(([name, n]) => [n, name] as const));
    byNumber.set(arch, names);
  }
  return names.get(nr);
}

/** The highest syscall number in the table. */
export function maxSyscall(arch: Arch): number {
  return Math.max(...Object.values(arch.syscalls));
}
