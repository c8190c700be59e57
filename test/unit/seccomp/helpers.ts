/** Shared by the seccomp tests: rules with defaults, and syscalls by name. */
import { syscallNumber, type Arch } from '../../../src/seccomp/arch/index.js';
import type { SeccompRules } from '../../../src/seccomp/compile.js';
import type { SyscallData } from '../../../src/seccomp/interp.js';

/** The tightest usual rules: TCP through Landlock, nothing else. */
import { DEFAULT_RULES } from '../../../src/seccomp/policy.js';
export { DEFAULT_RULES };

/** Everything the rules can open. */
export const OPEN_RULES: SeccompRules = {
  inet: 'all',
  udp: true,
  unix: true,
  listen: true,
  rawSockets: true,
  sysvIpc: true,
  allowSyscalls: [],
};

export function rules(over: Partial<SeccompRules> = {}): SeccompRules {
  return { ...DEFAULT_RULES, ...over };
}

export function nr(arch: Arch, name: string): number {
  const n = syscallNumber(arch, name);
  if (n === undefined) throw new Error(`${arch.name} has no ${name}`);
  return n;
}

/** syscall `name` on `arch` with `args`; with no args, reading one throws. */
export function call(arch: Arch, name: string, ...args: (number | bigint)[]): SyscallData {
  const data: SyscallData = { nr: nr(arch, name), arch: arch.auditArch };
  if (args.length) data.args = args;
  return data;
}
