/**
 * compile(): Policy + KernelFacts → JailPlan, the whole of what the addon
 * will apply, as plain data. Pure: no file system, no process state.
 */
import { PolicyError, UnsupportedKernelError } from './errors.js';
import { FS, NET } from './landlock/abi.js';
import { compileLandlock, type CompileOptions, type LandlockPlan } from './landlock/compile.js';
import type { Guard, KernelFacts, Policy } from './policy/model.js';
import { findArch } from './seccomp/arch/index.js';
import { UnknownSyscallError } from './seccomp/compile.js';
import { compileObserver, type ObserverPlan } from './seccomp/observe.js';
import { seccompRulesFor, compileSeccompFor, type LandlockCoverage, type SeccompPlan, type ViewCoverage } from './seccomp/policy.js';
import { abiRow } from './landlock/abi.js';
import { maskForKind, rightsFor, splitForHidden } from './landlock/compile.js';
import { compileView, mountedGuard, needsNetwork, type ViewPlan, type ViewRule } from './namespace/view.js';
export { mountedGuard };

export interface JailPlan {
  facts: KernelFacts;
  /** namespaces: the view (user, mount, PID and IPC namespaces, a network one
   *  when no network is needed) with Landlock and seccomp on top; landlock:
   *  Landlock and seccomp alone, where namespaces are refused or off. */
  layer: 'namespaces' | 'landlock';
  /** Why the namespace layer is not in force, when it is not. */
  fallback: string | null;
  view: ViewPlan | null;
  landlock: LandlockPlan | null;
  seccomp: SeccompPlan | null;
  /** --report-denials: the observer filter (seccomp/observe.ts), whose
   *  listener the supervisor serves; null without the flag. */
  observer: ObserverPlan | null;
  dropCaps: boolean;
  keepFds: number[];
  /** What best effort left out; empty in strict mode. */
  dropped: string[];
  /** The guards to check, and restore, after the run: in the fallback all
   *  of them; in the namespace layer those no mount enforces (names that do
   *  not exist yet, the scans, symlinks). */
  afterRun: Guard[];
}



/** Which layer runs, and why not the namespace one. Throws when namespaces
 *  are required and refused. */
function chooseLayer(policy: Policy, facts: KernelFacts): { layer: JailPlan['layer']; fallback: string | null } {
  if (policy.namespaces === 'off') return { layer: 'landlock', fallback: 'turned off (--no-namespaces)' };
  if (facts.namespaces?.ok) return { layer: 'namespaces', fallback: null };
  const why = facts.namespaces?.why ?? 'not probed';
  if (policy.namespaces === 'require') {
    throw new UnsupportedKernelError(
      'namespaces',
      `cannot build the namespace layer: ${why}.`,
      'drop --require-namespaces to run with Landlock and seccomp alone (jail says what that leaves open), or allow unprivileged user namespaces.',
    );
  }
  return { layer: 'landlock', fallback: `namespaces refused here: ${why}` };
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
  const { layer, fallback } = chooseLayer(policy, facts);
  const privateNet = layer === 'namespaces' && !needsNetwork(policy);
  // Outside a network namespace of its own, the way to the egress proxy is
  // a Landlock rule for its port (on any address: Landlock names no
  // address; --print-policy says so).
  const eg = policy.egress;
  let llPolicy = eg && eg.port && !privateNet ? { ...policy, net: { ...policy.net, connect: [...policy.net.connect, { from: eg.port, to: eg.port }] } } : policy;
  const agentPaths = sshAgentUnixPaths(policy, layer, facts);
  if (agentPaths.length) llPolicy = { ...llPolicy, net: { ...llPolicy.net, unixPaths: [...llPolicy.net.unixPaths, ...agentPaths] } };
  const { plan: landlock, dropped } = compileLandlock(llPolicy, facts.landlockAbi, { ...opts, privateNet, view: layer === 'namespaces' });
  const view = layer === 'namespaces' ? viewFor(policy, landlock, facts) : null;
  if (layer === 'landlock' && policy.sysvIpc) dropped.push(sharedSysvIpc(fallback ?? '', opts.bestEffort ?? false));
  // Without the view, Landlock alone keeps hidden paths unreadable.
  if (!view && landlock && policy.hidden.length > 0) dropped.push(...splitForHidden(landlock, policy, opts.bestEffort ?? false));
  const viewCoverage: ViewCoverage = { paths: view !== null, net: view?.net ?? false };
  let seccomp: SeccompPlan | null = null;
  const why = !facts.seccomp ? 'this kernel has no seccomp filter support' : !findArch(facts.arch) ? `jail has no syscall table for ${facts.arch}` : null;
  if (!why) {
    try {
      seccomp = compileSeccompFor(seccompRulesFor(agentPaths.length ? llPolicy : policy, landlockCoverage(landlock), viewCoverage), facts.arch);
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
  const afterRun = view ? policy.guards.filter((g) => !mountedGuard(g)) : policy.guards;
  // Without seccomp (best effort) there is no observer either: said above.
  const observer = policy.reportDenials && seccomp ? compileObserver(findArch(facts.arch)!) : null;
  if (policy.reportDenials && !seccomp) dropped.push('--report-denials: it needs seccomp user notification');
  return { facts, layer, fallback, view, landlock, seccomp, observer, dropCaps: policy.dropCaps, keepFds: policy.keepFds, dropped, afterRun };
}

/**
 * --allow-sysv-ipc: System V objects (shared memory, semaphores, message
 * queues) live in an IPC namespace. The namespace layer gives the jail one
 * of its own; the fallback has none, and the command would reach every
 * object of the machine its uid may (the user's other programs' shared
 * memory, to read, attach or remove). Refused, unless best effort.
 */
function sharedSysvIpc(fallback: string, bestEffort: boolean): string {
  const reach = "System V shared memory, semaphores and message queues are the machine's: the command can read and remove those of every process outside that runs as your user";
  if (bestEffort) return `an IPC namespace of its own for --allow-sysv-ipc (no namespace layer: ${fallback}): ${reach}`;
  throw new UnsupportedKernelError(
    'IPC namespace',
    `cannot keep --allow-sysv-ipc to the jail's own objects without the namespace layer (${fallback}): ${reach}.`,
    "run where user namespaces are allowed (the namespace layer gives the jail an IPC namespace of its own), drop --allow-sysv-ipc, or pass --best-effort to share the machine's System V IPC.",
  );
}

/**
 * --ssh-agent confirm or allow: how the command reaches the agent's socket.
 * In the namespace layer it is a path in the view (the private TMPDIR, or
 * the real socket bound in), and UNIX sockets are allowed there. In the
 * fallback, the syscall filter refuses UNIX sockets unless allowed, and
 * allowing them opens every socket the file system reaches: from Landlock
 * ABI 9 a rule names this one socket (returned, for the Landlock compiler);
 * below it, only --allow-unix, given as the explicit acknowledgement that
 * every socket (the real agent's too) is reachable, lets the run go on.
 */
export function sshAgentUnixPaths(policy: Policy, layer: JailPlan['layer'], facts: KernelFacts): string[] {
  const agent = policy.sshAgent;
  if (!agent || layer === 'namespaces' || policy.net.unix) return [];
  if (facts.landlockAbi >= 9) return [agent.socket];
  throw new UnsupportedKernelError(
    'ssh agent',
    `cannot keep --ssh-agent ${agent.mode} to one socket in this layer (Landlock and seccomp only): this kernel has ${facts.landlockAbi ? `Landlock ABI ${facts.landlockAbi}` : 'no Landlock'}, and a rule for one UNIX socket path needs ABI 9; ` +
      `allowing UNIX sockets opens every socket the file system reaches, the real agent's (${agent.upstream}) included, which a program can find in /proc/net/unix.`,
    `run where user namespaces are allowed (the namespace layer shows only jail's socket), or pass --allow-unix as well to accept that the real agent is reachable${agent.mode === 'confirm' ? ' (then confirm guards only programs that use SSH_AUTH_SOCK)' : ''}.`,
    facts.landlockAbi,
    9,
  );
}

/** The view, from the Landlock rules (the addon adds each on the object it
 *  mounts) or, without Landlock (best effort), from the grants alone. */
function viewFor(policy: Policy, landlock: LandlockPlan | null, facts: KernelFacts): ViewPlan {
  const row = abiRow(Math.max(facts.landlockAbi, 1));
  const write = FS.WRITE_FILE | FS.MAKE_REG | FS.MAKE_DIR | FS.REMOVE_FILE;
  // One loop, no spread: root's /etc makes hundreds of rules.
  const rules: ViewRule[] = [];
  const withId = (v: ViewRule, from: { dev?: bigint; ino?: bigint }) => {
    if (from.dev !== undefined) {
      v.dev = from.dev;
      v.ino = from.ino;
    }
    rules.push(v);
  };
  if (landlock) {
    for (const r of landlock.paths) {
      if (r.access === FS.RESOLVE_UNIX) continue; // --allow-unix PATH: a rule, not a mount
      withId({ path: r.path, isDir: r.isDir, access: r.access, writable: (r.access & write) !== 0n }, r);
    }
  } else {
    for (const g of policy.grants) withId({ path: g.path, isDir: g.isDir, access: 0n, writable: g.access === 'rw' || g.access === 'dev' }, g);
  }
  return compileView(policy, rules, {
    dev: landlock ? rightsFor('dev', row) : 0n,
    readFile: landlock ? maskForKind(rightsFor('ro', row), false) : 0n,
    readWrite: landlock ? maskForKind(rightsFor('rw', row), true) : 0n,
  });
}
