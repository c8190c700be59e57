/**
 * jail's library API. Most programs want spawn() or run(): a jailed command
 * as a child process. Underneath, the pipeline runs one way:
 *
 *   const facts = probe();                       // the kernel (addon)
 *   const policy = buildPolicy(opts, realHost()); // options → Policy
 *   const plan = compile(policy, facts);         // pure
 *   execInPlace(plan, { file, argv, env });      // irreversible
 */
export { spawn, run, toArgs, type JailSpawnOptions, type RunResult } from './api.js';
export { compile, type JailPlan } from './plan.js';
export { prepare, runPrepared, type RunRequest, type Prepared } from './run.js';
export { probe, execInPlace, toNativePlan, type ProbeResult, type ExecTarget } from './native/apply.js';
export { buildPolicy } from './policy/build.js';
export { assemble, type JailRequest, type Assembled } from './policy/assemble.js';
export { OPTIONS, type JailOptions, type ProfileJson } from './policy/options.js';
export { resolveCommand, withCommand, type ResolvedCommand } from './policy/command.js';
export { realHost } from './host.js';
export type { Policy, PathGrant, Access, Source, NetPolicy, PortRange, KernelFacts } from './policy/model.js';
export type { Host } from './policy/host.js';
export type { LandlockPlan } from './landlock/compile.js';
export type { SeccompPlan } from './seccomp/policy.js';
export { JailError, PolicyError, UnsupportedKernelError, ApplyError, NativeLoadError, CommandError, InternalError } from './errors.js';
