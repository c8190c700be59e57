/**
 * `jail learn`: the broad policy a command is learnt under, and the
 * profile made from what it touched. Pure: the calls come in as plain data
 * (denials.ts observedPaths), the host only lists and resolves paths.
 *
 * The broad policy: the system base, the project read-write (the default
 * protections apply), what $HOME holds read-only except its credentials
 * (HOME_SECRETS, .env files), npm's cache through its private layer, the
 * toolchains on PATH; the network only as the user's flags give it.
 *
 * The profile: the project ro or rw (rw when the command wrote there);
 * what it read under $HOME, generalised (one directory per tool, below);
 * npmCache and toolchains when it used them. Never $HOME, `/`, a
 * credentials path or a .env file. What the broad policy refused (a write
 * outside the project, a read outside $HOME) is a suggestion, never granted.
 */
import { allowText, judgeCall, shellPath, type Explanation, type ObservedAccess } from './explain.js';
import type { JailPlan } from './plan.js';
import type { Host } from './policy/host.js';
import type { PathGrant, Policy } from './policy/model.js';
import { OPTIONS, type OptionName, type ProfileJson } from './policy/options.js';
import { isWithin, normalize } from './policy/paths.js';
import { isEnvFile } from './policy/protect.js';
import { HOME_SECRETS } from './policy/toolchains.js';

/** Where the broad policy's $HOME grants say they come from. "built-in"
 *  first: like a built-in profile's grants outside the project, they are
 *  not searched for repositories and .env files (protect.ts), which would
 *  mean walking all of $HOME; the project's own grant is. */
export const LEARN_SOURCE = 'built-in jail learn: $HOME without its credentials';

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** Whether a path is, or lies in, one of $HOME's credentials, or is a .env file. */
export function isSecretPath(p: string, home: string): boolean {
  const h = normalize(home);
  return HOME_SECRETS.some((s) => isWithin(p, `${h}/${s}`)) || isEnvFile(base(p));
}

/** Whether a path holds one of $HOME's credentials (or $HOME itself). */
function holdsSecret(p: string, home: string): boolean {
  const h = normalize(home);
  return isWithin(h, p) || HOME_SECRETS.some((s) => isWithin(`${h}/${s}`, p));
}

/**
 * $HOME read-only without its credentials, as the paths to grant: each
 * entry of $HOME, and inside the directories that hold a credential
 * (~/.config, ~/.cargo, ~/.local/share…) each of theirs, leaving out the
 * credentials, .env files, `avoid` (npm's cache, granted on its own) and
 * symlinks that lead out of $HOME or to a credential.
 */
export function homeWithoutSecrets(host: Host, avoid: readonly string[]): { grants: string[]; leftOut: string[] } {
  const home = normalize(host.home);
  const grants: string[] = [];
  const leftOut: string[] = [];
  if (home === '/') return { grants, leftOut };
  const walk = (dir: string) => {
    let entries;
    try {
      entries = host.readdir(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = `${dir}/${e.name}`;
      if (isSecretPath(p, home)) {
        leftOut.push(p);
        continue;
      }
      if (avoid.some((a) => isWithin(p, a))) continue;
      if (holdsSecret(p, home) || avoid.some((a) => isWithin(a, p))) {
        if (e.isDir && !e.isSymlink) walk(p);
        continue;
      }
      if (e.isSymlink) {
        const real = host.realpath(p);
        if (real === null) continue;
        if (!isWithin(real, home) || holdsSecret(real, home) || isSecretPath(real, home)) {
          leftOut.push(p);
          continue;
        }
      }
      grants.push(p);
    }
  };
  walk(home);
  return { grants, leftOut };
}

/** Directories under $HOME that hold one directory per tool: a grant is
 *  one level below them (~/.config/tool, ~/.cache/node-gyp). */
const CONTAINERS = ['.config', '.cache', '.local', '.local/share', '.local/state', '.local/lib', '.var/app'];

const WRITES: readonly ObservedAccess[] = ['write', 'create', 'remove'];

export interface LearnInput {
  host: Host;
  /** The plan that ran and its policy: what was allowed. */
  plan: JailPlan;
  policy: Policy;
  calls: Iterable<{ access: ObservedAccess; path: string }>;
  projectRoot: string;
  npmCache: string | null;
  tmpDir: string | null;
}

export interface Suggestion {
  /** The flag that would allow it: `--rw ~/.cache/tool`. */
  flag: string;
  access: ObservedAccess;
  /** Paths refused under it (a few, for the summary). */
  paths: string[];
}

export interface Learnt {
  project: 'none' | 'ro' | 'rw';
  /** Generalised paths under $HOME to grant read-only (absolute). */
  home: string[];
  npmCache: boolean;
  toolchains: boolean;
  /** What the broad policy refused that may be needed. */
  suggestions: Suggestion[];
  /** Credentials (and .env files) the command reached for: never learnt. */
  secrets: string[];
  /** Distinct paths the command touched. */
  touched: number;
}

/** What the command touched, made into the parts of a profile. */
export function learnFrom(i: LearnInput): Learnt {
  const { host, plan, policy } = i;
  const home = normalize(host.home);
  const homeReal = host.realpath(home) ?? home;
  const project = normalize(i.projectRoot);
  const projectReal = host.realpath(project) ?? project;
  const inProject = (p: string, real: string | null) => isWithin(p, project) || (real !== null && isWithin(real, projectReal));
  const out: Learnt = { project: 'none', home: [], npmCache: false, toolchains: false, suggestions: [], secrets: [], touched: 0 };
  const reads = new Set<string>();
  const suggestions = new Map<string, Suggestion>();
  const seen = new Set<string>();
  const secrets = new Set<string>();
  for (const { access, path } of i.calls) {
    const key = `${access}\0${path}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const real = host.realpath(path);
    const write = WRITES.includes(access);
    // A probe for a file that is not there asks for nothing.
    if (!write && real === null) continue;
    out.touched++;
    if (isSecretPath(path, home) || (real !== null && isSecretPath(real, homeReal))) {
      secrets.add(path);
      continue;
    }
    if (i.tmpDir !== null && isWithin(path, i.tmpDir)) continue;
    // `mkdir -p` of a directory that is there asks for nothing.
    if (access === 'create' && real !== null && host.stat(real)?.isDir) continue;
    if (inProject(path, real)) {
      const judged = judgeCall(plan, policy, host, path, access);
      if (!judged.allowed) suggest(suggestions, access, path, flagFor(judged));
      else if (write) out.project = 'rw';
      else if (out.project === 'none') out.project = 'ro';
      continue;
    }
    if (i.npmCache !== null && isWithin(path, i.npmCache)) {
      out.npmCache = true;
      continue;
    }
    // $HOME itself and its ancestors: never a grant (the view shows them).
    if (isWithin(home, path)) continue;
    const judged = judgeCall(plan, policy, host, path, access);
    if (!judged.allowed) {
      // The system base decides /proc and /sys (node reads its cgroup's
      // limits, and copes without).
      if (['/proc', '/sys'].some((k) => isWithin(path, k))) continue;
      const underHome = isWithin(path, home);
      const at = underHome ? anchor(write && access !== 'write' ? parent(path) : path, home, project, i.npmCache) : null;
      const flag = at !== null ? `${write ? '--rw' : '--ro'} ${shellPath(tildeOf(at, home))}` : flagFor(judged);
      if (flag !== null) suggest(suggestions, access, path, flag);
      continue;
    }
    const g = grantFor(policy.grants, real ?? path);
    if (g?.source.kind === 'base' && g.source.what.startsWith('toolchain on PATH')) out.toolchains = true;
    else if (g?.source.kind === 'config' && g.source.where === LEARN_SOURCE && real !== null) reads.add(path);
  }
  out.home = collapse([...reads].map((p) => anchor(p, home, project, i.npmCache)).filter((p): p is string => p !== null));
  out.suggestions = [...suggestions.values()];
  out.secrets = [...secrets].sort();
  return out;
}

function suggest(into: Map<string, Suggestion>, access: ObservedAccess, path: string, flag: string | null): void {
  if (flag === null) return;
  const s = into.get(flag);
  if (s) {
    if (s.paths.length < 3 && !s.paths.includes(path)) s.paths.push(path);
  } else into.set(flag, { flag, access, paths: [path] });
}

/** explain's suggestion ("--rw /x"), or null: none, or one too broad
 *  ($HOME, above it, a credential: explain.ts tooBroad). */
function flagFor(e: Explanation): string | null {
  return e.allow ? allowText(e.allow) : null;
}

/** The most specific grant covering a path. */
function grantFor(grants: readonly PathGrant[], p: string): PathGrant | undefined {
  let best: PathGrant | undefined;
  for (const g of grants) if (g.access !== 'list' && isWithin(p, g.path) && (!best || g.path.length > best.path.length)) best = g;
  return best;
}

const parent = (p: string) => p.slice(0, p.lastIndexOf('/')) || '/';

/**
 * The grant a path under $HOME generalises to: one directory per tool
 * (~/.config/tool, ~/.cache/node-gyp, ~/.nvm, ~/code/lib), or the file
 * itself when it lies that shallow (~/.toolrc). Deeper when that
 * directory would hold a credential, the project or npm's cache. Null for
 * $HOME itself and what lies outside it.
 */
export function anchor(p: string, home: string, project: string, npmCache: string | null): string | null {
  const h = normalize(home);
  if (!isWithin(p, h) || p === h) return null;
  const rel = p.slice(h.length + 1).split('/');
  const container = CONTAINERS.filter((c) => rel.join('/').startsWith(`${c}/`)).sort((a, b) => b.length - a.length)[0];
  let n = container !== undefined ? container.split('/').length + 1 : rel[0]!.startsWith('.') ? 1 : 2;
  const at = (k: number) => `${h}/${rel.slice(0, k).join('/')}`;
  const unsafe = (q: string) =>
    holdsSecret(q, h) || isWithin(project, q) || (npmCache !== null && isWithin(npmCache, q)) || CONTAINERS.some((c) => q === `${h}/${c}`);
  n = Math.min(n, rel.length);
  while (n < rel.length && unsafe(at(n))) n++;
  const q = at(n);
  return unsafe(q) || isSecretPath(q, h) ? null : q;
}

/** Each path once, none inside another. */
function collapse(paths: string[]): string[] {
  const u = [...new Set(paths)].sort();
  return u.filter((p) => !u.some((q) => q !== p && isWithin(p, q)));
}

export function tildeOf(p: string, home: string): string {
  const h = normalize(home);
  return h !== '/' && isWithin(p, h) ? `~${p.slice(h.length)}` : p;
}

/** Where a learnt profile is written: the project's config holds paths
 *  relative to it; the user's, absolute ones (or ~). */
export type Target = 'project' | 'user';

export interface ProfileContext {
  home: string;
  projectRoot: string;
  /** The command, for the description. */
  argv: string[];
  /** Options the user gave `jail learn` that a profile holds (config
   *  surface), paths absolute: they are part of the policy it ran under. */
  given: ProfileJson;
}

/** The learnt profile as a config file writes it, for `target`. */
export function profileJson(l: Learnt, ctx: ProfileContext, target: Target): ProfileJson {
  const project = normalize(ctx.projectRoot);
  const show = (p: string) => (target === 'project' && isWithin(p, project) ? (p === project ? '.' : `./${p.slice(project.length + 1)}`) : tildeOf(p, ctx.home));
  const showOptional = (p: string) => (p.endsWith('?') ? `${show(p.slice(0, -1))}?` : show(p));
  const ro = [...(l.project === 'ro' ? [project] : []), ...l.home, ...(ctx.given.ro ?? [])].map(showOptional);
  const rw = [...(l.project === 'rw' ? [project] : []), ...(ctx.given.rw ?? [])].map(showOptional);
  const { ro: _ro, rw: _rw, ...rest } = ctx.given;
  const paths: Pick<ProfileJson, 'protect' | 'unprotect' | 'hide' | 'unhide'> = {};
  for (const key of ['protect', 'unprotect', 'hide', 'unhide'] as const) if (rest[key]) paths[key] = rest[key].map(showOptional);
  return {
    description: `learnt by jail learn from: ${ctx.argv.join(' ')}`.slice(0, 200),
    ...(ro.length && { ro: [...new Set(ro)] }),
    ...(rw.length && { rw: [...new Set(rw)] }),
    ...(l.npmCache && { npmCache: true }),
    ...(l.toolchains && { toolchains: true }),
    ...rest,
    ...paths,
  };
}

/**
 * What keeps a profile out of a project's config (config/project.ts holds
 * the same rule for reading it): a path outside the project, an option a
 * project may not set. Empty when it may go there.
 */
export function notForProject(json: ProfileJson): string[] {
  const why: string[] = [];
  for (const [key, value] of Object.entries(json) as Array<[string, unknown]>) {
    if (key === 'description' || key === 'extends' || !(key in OPTIONS)) continue;
    const rule = OPTIONS[key as OptionName].project;
    if (OPTIONS[key as OptionName].kind === 'paths') {
      for (const p of value as string[]) if (!(p === '.' || p === '.?' || p.startsWith('./'))) why.push(`"${key}": ${p} is outside the project`);
      if (rule === 'never' && (value as string[]).length) why.push(`"${key}" is yours to set, not a project's`);
    } else if (rule === 'never') {
      if (Array.isArray(value) ? value.length : value !== undefined) why.push(`"${key}" is yours to set, not a project's`);
    } else if (rule === 'set-only') {
      if ((value as string[]).some((e) => !e.includes('='))) why.push(`"${key}" passes variables from your environment`);
    } else if (typeof rule === 'object' && value !== rule.only) why.push(`"${key}": ${JSON.stringify(value)} widens the policy`);
  }
  return why;
}
