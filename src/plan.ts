/**
 * compile(): Policy + KernelFacts → JailPlan, the whole of what the addon
 * will apply, as plain data. Pure: no file system, no process state.
 */
import { UnsupportedKernelError } from './errors.js';
import { compileLandlock, type CompileOptions, type LandlockPlan } from './landlock/compile.js';
import type { KernelFacts, Policy } from './policy/model.js';
import { seccompRulesFor, compileSeccompFor, type SeccompPlan } from './seccomp/policy.js';

export interface JailPlan {
  facts: KernelFacts;
  landlock: LandlockPlan | null;
  seccomp: SeccompPlan | null;
  dropCaps: boolean;
  keepFds: number[];
  /** What best effort left out; empty in strict mode. */
  dropped: string[];
}

export function compile(policy: Policy, facts: KernelFacts, opts: CompileOptions = {}): JailPlan {
  const { plan: landlock, dropped } = compileLandlock(policy, facts.landlockAbi, opts);
  let seccomp: SeccompPlan | null = null;
  if (facts.seccomp) {
    seccomp = compileSeccompFor(seccompRulesFor(policy, landlock), facts.arch);
  } else if (opts.bestEffort) {
    dropped.push('the seccomp filter (UDP, raw sockets, UNIX sockets, ptrace, namespaces, TIOCSTI): this kernel has no seccomp');
  } else {
    throw new UnsupportedKernelError(
      'seccomp',
      'cannot enforce the syscall filter: this kernel has no seccomp filter support (CONFIG_SECCOMP_FILTER).',
      'use a kernel built with seccomp, or pass --best-effort to run without the syscall filter.',
    );
  }
  return { facts, landlock, seccomp, dropCaps: policy.dropCaps, keepFds: policy.keepFds, dropped };
}
