/** A Policy made by hand, for the compilers' unit tests: no grants, no
 *  network, every default; `over` replaces fields. */
import type { Policy } from '../../src/policy/model.js';

export function policyOf(over: Partial<Policy> = {}): Policy {
  return {
    grants: [],
    env: { mode: 'filter', pass: [], set: {} },
    privateTmp: false,
    net: { mode: 'none', connect: [], bind: [], dns: false, unix: false, unixPaths: [], rawSockets: false, hosts: [] },
    egress: null,
    scopeSignals: true,
    scopeAbstractUnix: true,
    dropCaps: true,
    keepFds: [],
    sysvIpc: false,
    allowSyscalls: [],
    logDenials: false,
    reportDenials: false,
    namespaces: 'auto',
    aliases: [],
    overlays: [],
    npmCache: null,
    cwd: '/work',
    guards: [],
    hidden: [],
    listings: [],
    ...over,
  };
}
