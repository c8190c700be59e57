/**
 * Policy → the seccomp compiler's rules. This is where the network policy
 * meets the syscall filter: Landlock governs TCP ports (and, from ABI 9,
 * UNIX socket paths), the filter decides which sockets may exist at all.
 * What Landlock governs on this run comes in as a fact, LandlockCoverage,
 * so that the two compilers stay siblings: nothing here reads a Landlock
 * plan.
 */
import type { Policy } from '../policy/model.js';
import { archForNode } from './arch/index.js';
import { compileSeccomp, describeSeccomp, type SeccompPlan, type SeccompRules } from './compile.js';
import { PRECOMPILED } from './precompiled.js';
import { InternalError } from '../errors.js';

export type { SeccompPlan };

/** What Landlock governs on this run, as far as the syscall filter needs to know. */
export interface LandlockCoverage {
  /** TCP bind and connect go through Landlock's port rules (ABI 4 or later, handled). */
  tcp: boolean;
  /** connect() to a pathname UNIX socket goes through Landlock's path rules (ABI 9, RESOLVE_UNIX handled). */
  unixPaths: boolean;
}

/** What the namespace layer guarantees, as far as the filter needs to know. */
export interface ViewCoverage {
  /** Only granted paths exist: a pathname UNIX socket outside them
   *  (docker.sock, the SSH agent) is not there to connect to, and Landlock
   *  scopes abstract ones. */
  paths: boolean;
  /** A network namespace of its own: listen() on an unbound TCP socket
   *  binds a port nobody can reach. */
  net: boolean;
}

const NO_VIEW: ViewCoverage = { paths: false, net: false };

export function seccompRulesFor(policy: Policy, coverage: LandlockCoverage, view: ViewCoverage = NO_VIEW): SeccompRules {
  const net = policy.net;
  const all = net.mode === 'all';
  const rules: SeccompRules = {
    // Without Landlock TCP rules (ABI < 4), --net none refuses TCP sockets.
    inet: all ? 'all' : coverage.tcp ? 'tcp-only' : 'none',
    // UDP only for DNS; on ABI 10 Landlock narrows it to port 53.
    udp: all || net.dns,
    // One socket path is only safe where Landlock checks the path (ABI 9).
    unix: net.unix || (net.unixPaths.length > 0 && coverage.unixPaths),
    // listen() on an unbound TCP socket picks a port and skips BIND_TCP.
    listen: all || net.bind.length > 0 || net.unix,
    rawSockets: net.rawSockets,
    sysvIpc: policy.sysvIpc,
    allowSyscalls: policy.allowSyscalls,
  };
  // In the namespace layer, UNIX sockets under the granted paths are what
  // tools use for IPC (tsx, language servers, test runners): allowed there,
  // and only there. With a network of its own (loopback only), TCP and UDP
  // reach nothing outside: a test server on localhost works inside.
  if (view.paths) rules.unix = true;
  if (view.net) Object.assign(rules, { inet: 'all', udp: true, listen: true });
  return rules;
}

/** The rules of a default run: --net none and no escape hatches. */
export const DEFAULT_RULES: SeccompRules = {
  inet: 'tcp-only',
  udp: false,
  unix: false,
  listen: false,
  rawSockets: false,
  sysvIpc: false,
  allowSyscalls: [],
};

/** The rules of a default run in the namespace layer. */
export const NS_DEFAULT_RULES: SeccompRules = { ...DEFAULT_RULES, inet: 'all', udp: true, unix: true, listen: true };

const sameRules = (a: SeccompRules, b: SeccompRules) =>
  a.inet === b.inet && a.udp === b.udp && a.unix === b.unix && a.listen === b.listen && a.rawSockets === b.rawSockets &&
  a.sysvIpc === b.sysvIpc && a.allowSyscalls.length === 0 && b.allowSyscalls.length === 0;

export function compileSeccompFor(rules: SeccompRules, nodeArch: string): SeccompPlan {
  const arch = archForNode(nodeArch);
  const ready = sameRules(rules, DEFAULT_RULES) ? PRECOMPILED[arch.name] : sameRules(rules, NS_DEFAULT_RULES) ? PRECOMPILED[`${arch.name}+ns`] : undefined;
  if (!ready) return compileSeccomp(rules, arch);
  // The default filter, compiled at build time (see tools/gen-precompiled.mjs);
  // its listing and rule list, for --print-policy, are made when asked for.
  let fresh: SeccompPlan | undefined;
  const compiled = (): SeccompPlan => {
    if (fresh) return fresh;
    // The listing comes from the compiler, the bytes from the build: a
    // listing that differs from what is applied must never be printed.
    fresh = compileSeccomp(rules, arch);
    if (Buffer.compare(Buffer.from(fresh.bytes), Buffer.from(ready, 'base64')) !== 0) {
      throw new InternalError(`the precompiled seccomp filter for ${arch.name} is out of date with the compiler (npm run gen:precompiled).`);
    }
    return fresh;
  };
  return {
    arch: arch.name,
    bytes: new Uint8Array(Buffer.from(ready, 'base64')),
    get rules() {
      return compiled().rules;
    },
    get program() {
      return compiled().program;
    },
  };
}

export function describeSeccompPlan(plan: SeccompPlan): string {
  return describeSeccomp(plan);
}
