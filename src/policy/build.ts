import { parseAllowHost, type HostRule } from '../egress/rules.js';
import { PolicyError } from '../errors.js';
import { printable } from '../text.js';
import { systemAliases, systemBase } from './base.js';
import type { Host } from './host.js';
import type { Access, PathGrant, Policy, PortRange } from './model.js';
import type { JailOptions } from './options.js';
import { absolute, aliasAt, grantFromFlag, grantOf, isWithin, resolveReal } from './paths.js';
import { toolchainGrants } from './toolchains.js';

export type { JailOptions };

/** What building needs besides the options and the machine. */
export interface BuildContext {
  /** The project's root: PATH entries inside it are not toolchains. */
  projectRoot?: string;
  /** npm's cache as the user configured it (for --npm-cache). */
  npmCache?: string;
}

/**
 * Flags → Policy. Paths are resolved through `host`. The command's own
 * grants are added by withCommand(), once it has been looked up.
 */
export function buildPolicy(opts: JailOptions, host: Host, ctx: BuildContext = {}): Policy {
  const flagged: PathGrant[] = [];
  for (const given of opts.ro ?? []) {
    const g = grantFromFlag('--ro', given, 'ro', host);
    if (g) flagged.push(g);
  }
  for (const given of opts.rw ?? []) {
    const g = grantFromFlag('--rw', given, 'rw', host);
    if (g) flagged.push(g);
  }
  const covered = (path: string, access: Access) =>
    flagged.some((g) => g.isDir && isWithin(path, g.path) && (g.access === access || g.access === 'rw'));
  const system = opts.system !== false;
  const npmCache = opts.npmCache && ctx.npmCache !== undefined ? npmCacheGrant(ctx.npmCache, flagged, host) : null;
  const grants = [...(system ? systemBase(host, covered) : []), ...(opts.toolchains ? toolchainGrants(host, ctx.projectRoot) : []), ...flagged, ...(npmCache ? [npmCache.grant] : [])];
  // A path given through a symlink (`--ro /opt/tool` → /srv/tool) is shown
  // in a view where it was given, as the symlink it is.
  const aliases = system ? systemAliases(host) : [];
  for (const given of [...(opts.ro ?? []), ...(opts.rw ?? [])]) {
    const spec = (typeof given === 'string' ? given : given.path).replace(/\?$/, '');
    const alias = aliasAt(absolute(spec, host), host);
    if (alias && !aliases.some((a) => a.path === alias.path)) aliases.push(alias);
  }
  const unixPaths: string[] = [];
  let unix = false;
  for (const u of opts.allowUnix ?? []) {
    if (u === true) unix = true;
    else {
      const g = grantFromFlag('--allow-unix', u, 'ro', host);
      if (g) unixPaths.push(g.path);
    }
  }
  if (opts.envAll && opts.cleanEnv) throw new PolicyError('--env-all and --clean-env contradict each other.', 'pass one of them.');
  if (opts.namespaces === false && opts.requireNamespaces) throw new PolicyError('--no-namespaces and --require-namespaces contradict each other.', 'pass one of them.');
  return {
    grants,
    env: { mode: opts.envAll ? 'all' : opts.cleanEnv ? 'clean' : 'filter', ...parseEnv(opts.env ?? []) },
    privateTmp: opts.privateTmp !== false,
    net: {
      mode: opts.net ?? 'none',
      connect: (opts.allowConnect ?? []).map((p) => parsePorts('--allow-connect', String(p))),
      bind: (opts.allowBind ?? []).map((p) => parsePorts('--allow-bind', String(p))),
      dns: opts.allowDns ?? false,
      unix,
      unixPaths,
      rawSockets: opts.allowRawSockets ?? false,
      hosts: hostRules(opts.allowHost ?? [], opts.net),
    },
    egress: null,
    scopeSignals: true,
    scopeAbstractUnix: true,
    dropCaps: !opts.keepCaps,
    keepFds: opts.keepFd ?? [],
    sysvIpc: opts.allowSysvIpc ?? false,
    allowSyscalls: opts.allowSyscall ?? [],
    logDenials: opts.logDenials ?? false,
    reportDenials: opts.reportDenials ?? false,
    namespaces: opts.namespaces === false ? 'off' : opts.requireNamespaces ? 'require' : 'auto',
    aliases,
    overlays: [],
    npmCache: npmCache && { path: npmCache.grant.path, ...(npmCache.grant.dev !== undefined && { dev: npmCache.grant.dev, ino: npmCache.grant.ino }) },
    cwd: host.cwd,
    guards: [],
    hidden: [],
    listings: [],
  };
}

/**
 * --npm-cache: the cache, read-only as far as Landlock goes (the namespace
 * layer mounts a private overlay on it). Skipped when it does not exist
 * yet, as the profiles' `{npmCache}?` was; and when a --rw flag already
 * covers it: writing the real cache is then the user's explicit choice.
 */
function npmCacheGrant(cache: string, flagged: PathGrant[], host: Host): { grant: PathGrant } | null {
  const r = resolveReal(cache, host);
  if (!r?.st.isDir) return null;
  if (flagged.some((g) => g.access === 'rw' && g.isDir && isWithin(r.real, g.path))) return null;
  return { grant: grantOf(r, 'ro', { kind: 'jail', what: "npm's cache, read-only; written through a private layer (--npm-cache)" }) };
}

/** --allow-host values, each once; refused with --net all, where they
 *  would change nothing. */
function hostRules(given: readonly string[], net: string | undefined): HostRule[] {
  if (given.length && net === 'all') {
    throw new PolicyError(`--allow-host ${given[0]} changes nothing with --net all, which lets everything out.`, 'drop --net all to let out only the hosts you name.');
  }
  const out: HostRule[] = [];
  for (const g of given) {
    const r = parseAllowHost(g);
    if (!out.some((o) => o.host === r.host && o.port === r.port && o.wildcard === r.wildcard)) out.push(r);
  }
  return out;
}

/** `443`, `8000-8100`. */
export function parsePorts(flag: string, given: string): PortRange {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(given.trim());
  const from = m ? Number(m[1]) : NaN;
  const to = m ? Number(m[2] ?? m[1]) : NaN;
  if (!m || from < 1 || to > 65535 || from > to) {
    throw new PolicyError(`${flag} ${given}: not a TCP port or port range.`, `write a port (443) or a range (8000-8100), from 1 to 65535.`);
  }
  return { from, to };
}

/** `--keep-fd 3`. */
export function parseFd(given: string): number {
  const n = /^\d+$/.test(given) ? Number(given) : NaN;
  if (!(n >= 3 && n < 1 << 20)) {
    throw new PolicyError(`--keep-fd ${given}: not a file descriptor number of 3 or more.`, `0, 1 and 2 are always passed on; name others by number.`);
  }
  return n;
}

/** `--env NAME` and `--env NAME=VALUE`. */
export function parseEnv(entries: string[]): { pass: string[]; set: Record<string, string> } {
  const pass: string[] = [];
  const set: Record<string, string> = {};
  for (const e of entries) {
    const eq = e.indexOf('=');
    const name = eq < 0 ? e : e.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new PolicyError(`--env ${printable(e)}: not a variable name.`, 'write --env NAME to pass one through, or --env NAME=VALUE to set one.');
    }
    if (eq < 0) pass.push(name);
    else set[name] = e.slice(eq + 1);
  }
  return { pass, set };
}
