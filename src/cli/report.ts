/** Words for people: errors, and the plan for --print-policy. */
import { printable } from '../text.js';
import { JailError } from '../errors.js';
import { fsRightNames, NET, SCOPE } from '../landlock/abi.js';
import type { LandlockPlan } from '../landlock/compile.js';
import type { JailPlan } from '../plan.js';
import { describeSource, type Policy } from '../policy/model.js';
import { describeSeccompPlan } from '../seccomp/policy.js';

export function formatError(e: unknown): string {
  if (e instanceof JailError) {
    return `jail: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`;
  }
  const err = e as Error;
  return `jail: internal error: ${err?.stack ?? String(e)}\n  hint: this is a bug in jail; please report it with the command line you used.\n`;
}

const names = (bits: bigint, table: Record<string, bigint>) =>
  Object.entries(table)
    .filter(([, v]) => (bits & v) !== 0n)
    .map(([k]) => k.toLowerCase().replace(/_/g, '-'));

function accessLabel(bits: bigint): string {
  const n = fsRightNames(bits);
  if (n.length === 1 && n[0] === 'read-dir') return 'list';
  if (n.includes('write-file') && n.includes('make-reg')) return 'rw';
  if (n.includes('write-file')) return 'dev';
  return 'ro';
}

/** What --print-policy says about the run besides the plan. */
export interface RunFacts {
  profileChain?: string[];
  tmpDir?: string | null;
  files?: Array<{ name: string }>;
  warnings?: string[];
  /** Every rule, /etc's too (-v); else /etc's per-entry rules as root are one line. */
  verbose?: boolean;
  /** The environment filter's result: names only, never values. */
  environment?: { passed: string[]; leftOut: string[] };
}

/** Below this many, /etc's rules are listed even without -v. */
const ETC_SUMMARY_MIN = 10;

/**
 * As root, /etc is granted entry by entry (what others may read; shadow,
 * sudoers and host keys left out): some 150 rules before the user's own.
 * Without -v they are one line. null when there is nothing to summarise.
 */
function etcSummary(plan: LandlockPlan, verbose: boolean): { rules: Set<LandlockPlan['paths'][number]>; line: string } | null {
  if (verbose) return null;
  const listing = plan.paths.find((r) => r.sources.some((s) => s.kind === 'base' && s.leftOut !== undefined));
  const dir = listing?.path ?? '/etc';
  const rules = plan.paths.filter((r) => r.path.startsWith(dir + '/') && r.sources.every((s) => s.kind === 'base' && s.what === '/etc'));
  if (rules.length < ETC_SUMMARY_MIN) return null;
  const left = listing?.sources.find((s) => s.kind === 'base' && s.leftOut !== undefined);
  const leftOut = left?.kind === 'base' ? left.leftOut : undefined;
  return {
    rules: new Set(rules),
    line: `  ro   ${dir}/…: ${rules.length} rules, one per entry others may read  system base (${dir})${leftOut !== undefined ? `; root-only files left out: ${leftOut}` : ''}; -v lists them`,
  };
}

/** What Landlock and seccomp alone leave open, which the namespace layer
 *  closes: said wherever the fallback is in force. */
export const FALLBACK_OPEN = [
  'chmod, chown, utime and setxattr on files outside the grants (and on read-only ones)',
  'stat, inotify and chdir anywhere; the file system can be mapped',
  "other processes' command lines in /proc (passwords given as arguments)",
  'UNIX sockets (tsx, language servers) unless --allow-unix, which opens every socket the file system reaches',
  "the command's descendants outliving a supervisor killed with SIGKILL",
  'protected paths (git hooks and config, hook and agent settings) can be written while the command runs; jail restores them when it ends, so a tool run outside the jail meanwhile may see the change',
];

/** The guards and hidden paths, one line each, and how this layer keeps them. */
export function describeProtections(plan: JailPlan, policy: Policy): string[] {
  const out: string[] = [];
  if (policy.guards.length === 0 && policy.hidden.length === 0) return out;
  const after = new Set(plan.afterRun);
  if (policy.guards.length) out.push(`protected (${plan.view ? 'mounted read-only, or checked after the run' : 'restored after the run'}; --unprotect PATH lifts one):`);
  for (const g of policy.guards) {
    const how = !after.has(g) ? (g.mode === 'pin' ? 'pinned' : 'read-only') : g.mode === 'scan' ? `new names, ${g.depth - 1} levels below` : g.mode === 'worktrees' ? 'new worktrees' : g.mode === 'keep' && g.kind === 'absent' ? 'must not appear' : 'restored';
    out.push(`  ${how.padEnd(24)} ${printable(g.path)}  (${g.why})`);
  }
  if (policy.hidden.length) out.push(`hidden (${plan.view ? 'an empty read-only file or directory over it' : 'the grants above split around it'}; --unhide PATH shows one):`);
  for (const h of policy.hidden) out.push(`  ${printable(h.path)}  (${h.why})`);
  return out;
}

/** The layer in force, in one line. */
export function layerLine(plan: JailPlan): string {
  if (plan.layer === 'namespaces') {
    return `namespaces (user, mount, PID, IPC${plan.view?.net ? ', network' : ''}): only the granted paths exist; Landlock and seccomp on top`;
  }
  return `Landlock and seccomp only (${plan.fallback}); open in this layer: ${FALLBACK_OPEN.join('; ')}`;
}

/** How npm's cache is reached in this plan's layer, in one line; null
 *  without --npm-cache. */
export function npmCacheLine(plan: JailPlan, policy: Policy): string | null {
  const c = policy.npmCache;
  if (!c) return null;
  return plan.layer === 'namespaces'
    ? `npm cache: ${c.path} through a private overlay (writes to ${c.layerDir ?? '?'}/upper); afterwards only content that hashes to its name is kept`
    : `npm cache: ${c.path} read-only (the fallback layer has no private overlay): installs from the cache work, anything that must write to it fails, and nothing is added to it`;
}

export function formatPlan(plan: JailPlan, policy: Policy, file: string, argv: string[], run: RunFacts = {}): string {
  const out: string[] = [];
  out.push(`command: ${file}${argv.length > 1 ? ' ' + argv.slice(1).join(' ') : ''}`);
  out.push(`layer: ${layerLine(plan)}`);
  if (run.profileChain?.length) out.push(`profile: ${run.profileChain.join(' → ')}`);
  const cache = npmCacheLine(plan, policy);
  if (cache) out.push(cache);
  if (run.tmpDir) out.push(`private TMPDIR: ${run.tmpDir}${run.files?.length ? ` (with ${run.files.map((f) => f.name).join(', ')})` : ''}, removed afterwards`);
  const ll = plan.landlock;
  out.push(`kernel: Landlock ABI ${plan.facts.landlockAbi}, seccomp ${plan.facts.seccomp ? 'yes' : 'no'}, arch ${plan.facts.arch}`);
  if (!ll) {
    out.push('landlock: off (best effort: this kernel has no Landlock)');
  } else {
    out.push(`landlock: ABI ${ll.abi}`);
    out.push(`  handled fs: ${fsRightNames(ll.handledFs).join(' ')}`);
    out.push(`  handled net: ${names(ll.handledNet, NET).join(' ') || '(none: network not restricted by Landlock)'}`);
    out.push(`  scoped: ${names(ll.scoped, SCOPE).join(' ') || '(none)'}`);
    out.push(`paths (${ll.paths.length} rules${ll.covered ? `, ${ll.covered} more covered by a directory above` : ''}):`);
    const w = Math.max(...ll.paths.map((r) => r.path.length), 10);
    const etc = etcSummary(ll, run.verbose ?? false);
    let etcShown = false;
    for (const r of ll.paths) {
      if (etc?.rules.has(r)) {
        if (!etcShown) out.push(etc.line);
        etcShown = true;
        continue;
      }
      out.push(`  ${accessLabel(r.access).padEnd(4)} ${r.path.padEnd(w)}  ${r.sources.map(describeSource).join('; ')}`);
      out.push(`       ${fsRightNames(r.access).join(' ')}`);
    }
    if (ll.handledNet & NET.CONNECT_TCP || ll.ports.length) {
      const ports = ll.ports.map((p) => `${names(p.access, NET).join('+')} ${p.port}`);
      out.push(`ports: ${ports.length ? ports.join(', ') : '(none: no TCP bind or connect)'}`);
    }
  }
  if (plan.view) {
    out.push(`view (${plan.view.entries.length} entries; the working directory ${plan.view.cwd}):`);
    // /etc's per-entry Landlock rules in the view, summarised with them.
    const etcDir = plan.landlock?.paths.find((r) => r.sources.some((x) => x.kind === 'base' && x.leftOut !== undefined))?.path ?? '/etc';
    const etcRules = run.verbose ? [] : plan.view.entries.filter((e) => e.kind === 'rule' && e.path.startsWith(etcDir + '/'));
    const skip = new Set(etcRules.length >= ETC_SUMMARY_MIN ? etcRules : []);
    let skipShown = false;
    for (const e of plan.view.entries) {
      if (skip.has(e)) {
        if (!skipShown) out.push(`  rule ${etcDir}/…: ${skip.size} entries, Landlock rules inside the ${etcDir} mount; -v lists them`);
        skipShown = true;
        continue;
      }
      if (e.kind === 'bind') out.push(`  ${e.device ? 'dev ' : e.readOnly ? 'ro  ' : 'rw  '} ${e.path}${e.source ? ` ← ${e.source}` : ''}`);
      else if (e.kind === 'symlink') out.push(`  link ${e.path} → ${e.target}`);
      else if (e.kind === 'overlay') out.push(`  ovl  ${e.path} (writes to ${e.layer}/upper)`);
      else out.push(`  ${e.kind.padEnd(4)} ${e.path}`);
    }
  }
  out.push(...describeProtections(plan, policy));
  out.push(plan.view?.net ? `network: a namespace of its own, loopback only: nothing outside is reachable${policy.egress ? " but through jail's egress proxy (below)" : ''}; TCP, UDP and UNIX sockets work inside` : describeNetwork(policy));
  out.push(...describeEgress(plan, policy));
  out.push(...describeSshAgent(plan, policy));
  if (plan.seccomp) out.push(describeSeccompPlan(plan.seccomp));
  else out.push('seccomp: off (best effort)');
  out.push(`capabilities: ${plan.dropCaps ? 'all dropped' : 'kept (--keep-caps)'}`);
  if (plan.keepFds.length) out.push(`fds passed on: 0 1 2 ${plan.keepFds.join(' ')}`);
  for (const d of plan.dropped) out.push(`dropped (best effort): ${d}`);
  if (run.environment) {
    const { passed, leftOut } = run.environment;
    out.push(`environment (names only): passed ${passed.length}: ${passed.join(' ') || '(none)'}`);
    out.push(`  left out ${leftOut.length}: ${leftOut.join(' ') || '(none)'}`);
  }
  for (const w of run.warnings ?? []) out.push(`warning: ${w}`);
  return out.join('\n') + '\n';
}

export function planToJson(plan: JailPlan, policy: Policy, file: string, argv: string[], run: RunFacts = {}): unknown {
  const ll = plan.landlock;
  const hex = (b: bigint) => '0x' + b.toString(16);
  return {
    command: { file, argv },
    layer: plan.layer,
    fallback: plan.fallback,
    npmCache: policy.npmCache && { path: policy.npmCache.path, through: plan.layer === 'namespaces' ? 'overlay' : 'read-only', layerDir: policy.npmCache.layerDir ?? null },
    openInFallback: plan.layer === 'landlock' ? FALLBACK_OPEN : [],
    view: plan.view && {
      net: plan.view.net,
      cwd: plan.view.cwd,
      entries: plan.view.entries.map((e) => ('access' in e ? { ...e, access: '0x' + e.access.toString(16), ...('dev' in e && e.dev !== undefined && { dev: String(e.dev), ino: String(e.ino) }) } : e)),
    },
    profile: run.profileChain ?? [],
    tmpDir: run.tmpDir ?? null,
    tmpFiles: (run.files ?? []).map((f) => f.name),
    warnings: run.warnings ?? [],
    environment: run.environment ?? null,
    kernel: plan.facts,
    landlock: ll && {
      abi: ll.abi,
      handledFs: fsRightNames(ll.handledFs),
      handledNet: names(ll.handledNet, NET),
      scoped: names(ll.scoped, SCOPE),
      restrictFlags: ll.restrictFlags,
      paths: ll.paths.map((r) => ({ path: r.path, access: hex(r.access), rights: fsRightNames(r.access), isDir: r.isDir, from: r.sources.map(describeSource) })),
      ports: ll.ports.map((p) => ({ port: p.port, rights: names(p.access, NET) })),
      covered: ll.covered,
    },
    seccomp: plan.seccomp && { arch: plan.seccomp.arch, instructions: plan.seccomp.bytes.length / 8, rules: plan.seccomp.rules },
    network: policy.net,
    sshAgent: policy.sshAgent ?? { mode: 'deny' },
    egress: policy.egress && { ...policy.egress, hosts: policy.net.hosts.map((h) => h.given), sockets: plan.view?.sockets ?? [] },
    protected: policy.guards.map((g) => ({ mode: g.mode, path: g.path, why: g.why, ...(g.mode === 'keep' || g.mode === 'pin' ? { kind: g.kind } : {}), afterRun: plan.afterRun.includes(g) })),
    hidden: policy.hidden.map((h) => ({ path: h.path, isDir: h.isDir, why: h.why })),
    dropCaps: plan.dropCaps,
    keepFds: plan.keepFds,
    dropped: plan.dropped,
  };
}

/** --allow-host: where the proxy is, how each layer keeps the command to
 *  it, and what that leaves open. */
function describeEgress(plan: JailPlan, policy: Policy): string[] {
  const eg = policy.egress;
  if (!eg) return [];
  const at = `127.0.0.1:${eg.port || '(a free port, picked at run time)'}`;
  const out = [`egress: only ${policy.net.hosts.map((h) => h.given).join(', ')}, through jail's proxy at ${at} (HTTP CONNECT, http:// requests, SOCKS5); the proxy resolves names itself`];
  if (plan.view?.net) {
    out.push('  the proxy, inside the command\'s own network namespace, is its only way out');
    out.push(
      eg.resolvConf
        ? `  name lookups: ${eg.resolvConf.path} names jail's DNS, which gives allowed names local addresses; connections to them on port ${eg.transparentPorts.join(', ') || '(none)'} go through the proxy (for programs that ignore proxy variables); other names are refused at once`
        : '  name lookups: off (no private TMPDIR for jail\'s resolv.conf, or it is a symlink out of the view): only programs that use the proxy variables get out',
    );
  } else {
    out.push(`  a Landlock rule allows TCP connect to port ${eg.port || '(the proxy\'s)'} on ANY address (Landlock names ports, not addresses): a program that ignores the proxy variables could reach another host's port ${eg.port || 'of that number'}; the namespace layer has no such gap`);
  }
  return out;
}

/** --ssh-agent: what SSH_AUTH_SOCK leads to, and how this layer keeps the
 *  real agent out of reach (or does not). */
export function describeSshAgent(plan: JailPlan, policy: Policy): string[] {
  const a = policy.sshAgent;
  if (!a) return ['ssh agent: none (--ssh-agent deny): no agent inside'];
  const allUnix = plan.layer === 'landlock' && policy.net.unix;
  if (a.mode === 'allow') {
    return [
      `ssh agent: allow: WARNING: SSH_AUTH_SOCK=${a.socket}, your real agent, unasked: the command can sign as you with every key in it (logins, pushes, commits); --ssh-agent confirm asks first`,
      `  ${plan.layer === 'namespaces' ? 'its socket is bound into the view' : allUnix ? 'reached through --allow-unix, which opens every UNIX socket the file system reaches' : 'a Landlock rule allows connecting to it (ABI 9)'}`,
    ];
  }
  return [
    `ssh agent: confirm: SSH_AUTH_SOCK=${a.socket}, jail's agent: it lists the keys of ${a.upstream} and forwards a signature only after you confirm it on jail's terminal (or a desktop dialog); adding, removing, locking and extensions are refused`,
    plan.layer === 'namespaces'
      ? "  the real agent's socket is not in the view; UNIX sockets are allowed (only jail's socket and those under the grants exist)"
      : allUnix
        ? `  WARNING: --allow-unix opens every UNIX socket the file system reaches, the real agent's (${a.upstream}) included: a program that does not use SSH_AUTH_SOCK can reach it unasked`
        : '  a Landlock rule allows connecting to this socket only (ABI 9)',
  ];
}

const ranges = (rs: Array<{ from: number; to: number }>) => rs.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`)).join(', ');

/** The network policy in words, DNS included: its absence surprises people. */
export function describeNetwork(policy: Policy): string {
  const n = policy.net;
  if (n.mode === 'all') return 'network: all (no restriction; raw and packet sockets still refused)';
  const lines = [
    'network: none, except:',
    `  TCP connect: ${n.connect.length ? ranges(n.connect) : '(none)'}`,
    `  TCP bind: ${n.bind.length ? ranges(n.bind) : '(none)'}`,
    `  DNS: ${n.dns ? 'allowed (UDP)' : 'off: UDP is refused, so name lookups fail; add --allow-dns'}`,
    `  UNIX sockets: ${n.unix ? 'all' : n.unixPaths.length ? n.unixPaths.join(', ') : 'refused (socketpair still works)'}`,
  ];
  return lines.join('\n');
}
