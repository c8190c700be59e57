/**
 * Policy → the seccomp compiler's rules. This is where the network policy
 * meets the syscall filter: Landlock governs TCP ports, the filter decides
 * which sockets may exist at all.
 */
import type { LandlockPlan } from '../landlock/compile.js';
import { FS, NET } from '../landlock/abi.js';
import type { Policy } from '../policy/model.js';
import { archForNode } from './arch/index.js';
import { compileSeccomp, describeSeccomp, type SeccompPlan, type SeccompRules } from './compile.js';

export type { SeccompPlan };

export function seccompRulesFor(policy: Policy, landlock: LandlockPlan | null): SeccompRules {
  const net = policy.net;
  const all = net.mode === 'all';
  const tcpByLandlock = landlock !== null && (landlock.handledNet & NET.CONNECT_TCP) !== 0n;
  return {
    // Without Landlock TCP rules (ABI < 4), --net none refuses TCP sockets.
    inet: all ? 'all' : tcpByLandlock ? 'tcp-only' : 'none',
    // UDP only for DNS; on ABI 10 Landlock narrows it to port 53.
    udp: all || net.dns,
    // One socket path is only safe where Landlock checks the path (ABI 9).
    unix: net.unix || (net.unixPaths.length > 0 && landlock !== null && (landlock.handledFs & FS.RESOLVE_UNIX) !== 0n),
    // listen() on an unbound TCP socket picks a port and skips BIND_TCP.
    listen: all || net.bind.length > 0 || net.unix,
    rawSockets: net.rawSockets,
    sysvIpc: policy.sysvIpc,
    allowSyscalls: policy.allowSyscalls,
  };
}

export function compileSeccompFor(rules: SeccompRules, nodeArch: string): SeccompPlan {
  return compileSeccomp(rules, archForNode(nodeArch));
}

export function describeSeccompPlan(plan: SeccompPlan): string {
  return describeSeccomp(plan);
}
