/**
 * The security rule for a project's config. It is written by whoever
 * controls the project, who may be the attacker (a cloned repository, a pull
 * request, a compromised dependency's own package.json). What a project
 * profile itself declares may narrow the policy and grant paths inside the
 * project tree, nothing more; what each option allows is its `project`
 * entry in the option registry.
 *
 * Paths are judged by where they resolve (symlinks followed; a missing path
 * by its nearest existing ancestor). The grant carries the project root as
 * the tree it must stay in, so the check is made again on the object that
 * is granted (policy/paths.ts), and the addon verifies that object.
 */
import { PolicyError } from '../../errors.js';
import type { Host } from '../host.js';
import { longFlag, OPTIONS, type OptionName, type ProfileOptions } from '../options.js';
import { isWithin, normalize, type PathEntry } from '../paths.js';
import { parentOf } from './load.js';
import type { LoadedConfig } from './types.js';
import type { ConfigPath, ProfileDecl, ProfileFields } from './validate.js';

/** A declaration as options: paths absolute, carrying where they came from
 *  and, for the project's and the built-ins' project paths, the tree they
 *  must resolve inside. */
export function toOptions(d: ProfileDecl, config: LoadedConfig): ProfileOptions {
  const f = d.layer === 'project' ? projectFields(d, config) : d.layer === 'built-in' ? builtinFields(d, config) : d.fields;
  const root = normalize(config.projectRoot);
  // A built-in's {project}/coverage must not follow a committed
  // `coverage -> /` out of the project: it stays inside, as the project's own.
  const within = (p: string) => (d.layer === 'project' || (d.layer === 'built-in' && isWithin(stripOptional(p), root)) ? { within: root } : {});
  const entry = (p: ConfigPath): PathEntry => ({ path: p.path, from: d.from, ...within(p.path), ...(d.layer === 'project' && { project: { given: p.given, where: `${d.file}: profile "${d.name}"` } }) });
  const { allowUnix, ...rest } = f;
  const out: Record<string, unknown> = { ...rest };
  for (const key of PATH_OPTIONS) {
    const v = f[key];
    if (v) out[key] = v.map(entry);
  }
  if (allowUnix) out.allowUnix = allowUnix.map((u) => (u === true ? u : u.path));
  return out as ProfileOptions;
}

/** What a project's profile declares, refused where it widens the policy. */
function projectFields(d: ProfileDecl, config: LoadedConfig): ProfileFields {
  const { host } = config;
  const userConfig = tilde(config.userConfigPath, host.home);
  const refuse = (what: string, flag: string | null): never => {
    throw new PolicyError(
      `${d.file}: profile "${d.name}": ${what}.`,
      flag ? `put it in ${userConfig} or pass the flag yourself (${flag}).` : `put it in ${userConfig} if you mean it.`,
      d.file ?? undefined,
    );
  };
  const mayNot = (what: string, why = 'it may only narrow the policy and grant paths inside the project') => `a project's config may not set ${what}; ${why}`;
  const f = d.fields as Record<string, unknown>;
  for (const key of Object.keys(f) as OptionName[]) {
    const value = f[key];
    const rule = OPTIONS[key].project;
    const flag = longFlag(key);
    if (rule === 'never') {
      const first = (value as unknown[])[0] as true | string | ConfigPath | undefined;
      if (first === undefined) continue;
      const shown = first === true ? '' : ` ${typeof first === 'string' ? first : first.given}`;
      refuse(mayNot(`"${key}"`), `${flag}${shown}`);
    } else if (rule === 'set-only') {
      const pass = (value as string[]).find((e) => !e.includes('='));
      if (pass !== undefined) {
        refuse(`a project's config may not pass ${JSON.stringify(pass)} through from your environment; it could hand a secret to the program ("NAME=VALUE" is fine)`, `${flag} ${pass}`);
      }
    } else if (typeof rule === 'object' && value !== rule.only) {
      const undo = UNDO[key];
      if (undo) refuse(mayNot(`"${key}": ${JSON.stringify(value)}`, undo), null);
      refuse(mayNot(`"${key}": ${JSON.stringify(value)}`), typeof value === 'string' ? `${flag} ${value}` : flag);
    }
  }
  const lower = (config.profiles.get(d.name) ?? []).filter((x) => x.layer !== 'project');
  if (d.extends.length > 0 && lower.length > 0) {
    throw new PolicyError(
      `${d.file}: profile "${d.name}": a project's config may not change what "${d.name}" extends, since ${lower.map((x) => (x.file ? `your ${tilde(x.file, host.home)}` : 'a built-in profile')).join(' and ')} ${lower.length > 1 ? 'define' : 'defines'} it.`,
      `give the project's profile a name of its own, e.g. "${d.name}-project", and extend "${d.name}" from it.`,
      d.file ?? undefined,
    );
  }

  const root = host.realpath(config.projectRoot) ?? normalize(config.projectRoot);
  const inside = (key: PathOption) =>
    (d.fields[key] ?? []).map((p): ConfigPath => {
      const optional = p.path.endsWith('?');
      const abs = stripOptional(p.path);
      const real = resolveNearest(abs, host);
      if (!isWithin(real, root)) {
        const shown = real === abs ? abs : `${abs} → ${real}`;
        refuse(`"${key}" path ${JSON.stringify(p.given)} (${shown}) is outside the project ${root}; a project's config may only ${key === 'ro' || key === 'rw' ? 'grant' : 'name'} paths inside it`, `${longFlag(key)} ${p.given}`);
      }
      return { given: p.given, path: real + (optional ? '?' : '') };
    });
  const out: Record<string, unknown> = { ...d.fields };
  for (const key of PATH_OPTIONS) if (OPTIONS[key].project === 'inside' && d.fields[key]) out[key] = inside(key);
  return out as ProfileFields;
}

/** The options that take paths: a project's must lie inside the project. */
type PathOption = 'ro' | 'rw' | 'protect' | 'unprotect' | 'hide' | 'unhide';
const PATH_OPTIONS = (Object.keys(OPTIONS) as OptionName[]).filter((k): k is PathOption => OPTIONS[k].kind === 'paths');

/** Options whose narrowing a project may not undo, where no flag widens:
 *  the value that is refused turns a default protection back on. */
const UNDO: Partial<Record<OptionName, string>> = {
  system: 'it would turn the system base back on',
  cleanEnv: 'it would turn the clean environment back off',
};

/** realpath, or for a missing path its nearest existing ancestor's realpath
 *  with the rest appended: `link/new` where link → /home/u is /home/u/new. */
export function resolveNearest(abs: string, host: Host): string {
  const rest: string[] = [];
  for (let p = abs; ; p = parentOf(p)) {
    const real = host.realpath(p);
    if (real !== null) return normalize([real, ...rest].join('/'));
    if (p === '/') return abs;
    rest.unshift(p.slice(p.lastIndexOf('/') + 1));
  }
}

/** Built-ins grant the project; when the project root is $HOME or above it
 *  (jail started there), that would be every secret in it. */
function builtinFields(d: ProfileDecl, config: LoadedConfig): ProfileFields {
  const home = normalize(config.host.home);
  for (const p of [...(d.fields.ro ?? []), ...(d.fields.rw ?? [])]) {
    const abs = stripOptional(p.path);
    if (isWithin(home, abs)) {
      throw new PolicyError(
        `built-in profile "${d.name}" would grant ${abs}, which holds your home directory (the project root is ${config.projectRoot}).`,
        'run jail inside a project (a directory with package.json or jail.config.json), or pass --ro/--rw yourself.',
      );
    }
  }
  return d.fields;
}

const stripOptional = (p: string) => (p.endsWith('?') ? p.slice(0, -1) : p);

export function tilde(p: string, home: string): string {
  const h = normalize(home);
  return h !== '/' && isWithin(p, h) ? '~' + p.slice(h.length) : p;
}
