/**
 * compile(): Policy + KernelFacts → JailPlan, the whole of what the addon
 * will apply, as plain data. Pure: no file system, no process state.
 */
import { PolicyError, UnsupportedKernelError } from './errors.js';
import { FS, NET } from './landlock/abi.js';
import { compileLandlock, type CompileOptions, type LandlockPlan } from './landlock/compile.js';
import type { KernelFacts, Policy } from './policy/model.js';
import { findArch } from './seccomp/arch/index.js';
import { UnknownSyscallError } from './seccomp/compile.js';
import { seccompRulesFor, compileSeccompFor, type LandlockCoverage, type SeccompPlan } from './seccomp/policy.js';

export interface JailPlan {
  facts: KernelFacts;
  landlock: LandlockPlan | null;
  seccomp: SeccompPlan | null;
  dropCaps: boolean;
  keepFds: number[];
  /** What best effort left out; empty in strict mode. */
  dropped: string[];
}

/**
 * What the Landlock plan governs, as the syscall filter needs it: the one
 * place where the two compilers' results meet.
 */
export function landlockCoverage(landlock: LandlockPlan | null): LandlockCoverage {
  const tcp = NET.BIND_TCP | NET.CONNECT_TCP;
  return {
    tcp: landlock !== null && (landlock.handledNet & tcp) === tcp,
    unixPaths: landlock !== null && (landlock.handledFs & FS.RESOLVE_UNIX) !== 0n,
  };
}

export function compile(policy: Policy, facts: KernelFacts, opts: CompileOptions = {}): JailPlan {
  const { plan: landlock, dropped } = compileLandlock(policy, facts.landlockAbi, opts);
  let seccomp: SeccompPlan | null = null;
  const why = !facts.seccomp ? 'this kernel has no seccomp filter support' : !findArch(facts.arch) ? `jail has no syscall table for ${facts.arch}` : null;
  if (!why) {
    try {
      seccomp = compileSeccompFor(seccompRulesFor(policy, landlockCoverage(landlock)), facts.arch);
    } catch (e) {
      if (!(e instanceof UnknownSyscallError)) throw e;
      throw new PolicyError(`--allow-syscall ${e.names.join(', ')}: no such syscall on ${e.arch}.`, 'write the kernel\'s name of the syscall, e.g. --allow-syscall io_uring_setup.');
    }
  } else if (opts.bestEffort) {
    dropped.push(`the syscall filter (UDP, UNIX and raw sockets, ptrace, namespaces, TIOCSTI, io_uring): ${why}`);
  } else {
    throw new UnsupportedKernelError(
      'seccomp',
      `cannot enforce the syscall filter: ${why}.`,
      'pass --best-effort to run without the syscall filter (Landlock rules still apply).',
    );
  }
  return { facts, landlock, seccomp, dropCaps: policy.dropCaps, keepFds: policy.keepFds, dropped };
}
