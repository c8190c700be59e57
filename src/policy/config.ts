/**
 * Profiles from three layers, lowest first: built-in (profiles.ts), the
 * user's config ($XDG_CONFIG_HOME/jail/config.json) and the project's
 * (jail.config.json, else package.json's "jail" key). A profile is a named,
 * partial JailOptions; resolveProfile() merges one into a JailOptions that
 * the CLI puts its flags on top of with mergeOptions().
 *
 * The project's config is written by whoever controls the project, who may
 * be the attacker. What a project profile itself declares may narrow the
 * policy and grant paths inside the project tree, nothing more
 * (projectFields). Grants its own profiles get by extending built-in or user
 * profiles are the user's own; but it may not change what a built-in or
 * user profile extends.
 *
 * Pure: files come through ctx.readFile, machine facts through Host.
 */
import { PolicyError } from '../errors.js';
import { parseEnv, parsePorts, type JailOptions } from './build.js';
import type { Host } from './host.js';
import { isWithin, normalize, type PathEntry } from './paths.js';
import { builtinProfiles, type ProfileJson } from './profiles.js';

export interface ConfigContext {
  host: Host;
  /** A file's text; null when it does not exist. */
  readFile(p: string): string | null;
  /** $XDG_CONFIG_HOME; used only when absolute, as the XDG spec says. */
  xdgConfigHome?: string;
  /** The running node's install prefix: /usr, ~/.nvm/versions/node/v20.x, … */
  nodePrefix: string;
  /** npm's cache: $npm_config_cache or ~/.npm. */
  npmCache: string;
}

export type Layer = 'built-in' | 'user' | 'project';

export const PROJECT_CONFIG = 'jail.config.json';

/** A path as written, and made absolute against the declaring file's
 *  directory (`~` expanded, a trailing `?` kept). */
interface ConfigPath {
  given: string;
  path: string;
}

/** A profile's fields after validation: the JSON shape (ProfileJson) with
 *  paths still carrying what was written, for the project check's messages,
 *  and ports as strings. */
type ProfileFields = Omit<ProfileJson, 'description' | 'extends' | 'ro' | 'rw' | 'allowUnix' | 'allowConnect' | 'allowBind'> & {
  ro?: ConfigPath[];
  rw?: ConfigPath[];
  allowUnix?: Array<true | ConfigPath>;
  allowConnect?: string[];
  allowBind?: string[];
};

/** One layer's declaration of one profile. */
export interface ProfileDecl {
  name: string;
  layer: Layer;
  /** The declaring file; null for built-ins. */
  file: string | null;
  /** What its paths' grants say they came from. */
  from: string;
  extends: string[];
  description?: string;
  fields: ProfileFields;
}

export interface LoadedConfig {
  /** The nearest ancestor of the working directory with jail.config.json or
   *  package.json (never $HOME or above unless started there); else the
   *  working directory. */
  projectRoot: string;
  /** The project's config file actually used; null when it has none. */
  projectFile: string | null;
  /** The user's config file; null when it does not exist. */
  userFile: string | null;
  /** Where the user's config file is or would be. */
  userConfigPath: string;
  /** Every profile's declarations, lowest layer first. */
  profiles: ReadonlyMap<string, readonly ProfileDecl[]>;
  host: Host;
}

export interface ResolvedProfile {
  options: JailOptions;
  /** Lowest first, e.g. ['node (built-in)', 'test (built-in, project /p/jail.config.json)']. */
  chain: string[];
  description?: string;
}

export interface ProfileListing {
  name: string;
  layers: Layer[];
  /** The files declaring it, in layer order (built-ins have none). */
  files: string[];
  description: string;
  extends: string[];
  /** Why using it would fail (e.g. a project grant outside the project). */
  problem?: string;
}

// ---------------------------------------------------------------- loading

/** Finds the project root and reads the user's and the project's config:
 *  at most three small files. */
export function loadConfig(ctx: ConfigContext): LoadedConfig {
  const { host } = ctx;
  const home = normalize(host.home);
  const projectRoot = findProjectRoot(host);
  const layers: ProfileDecl[][] = [];

  const builtins = builtinProfiles({ projectRoot, home, nodePrefix: ctx.nodePrefix, npmCache: ctx.npmCache });
  layers.push([...builtins].map(([name, json]) => parseProfile(json, { name, layer: 'built-in', file: null, where: `built-in profile "${name}"`, dir: '/', home })));

  const configHome = ctx.xdgConfigHome?.startsWith('/') ? normalize(ctx.xdgConfigHome) : `${home}/.config`;
  const userConfigPath = `${configHome === '/' ? '' : configHome}/jail/config.json`;
  const userText = ctx.readFile(userConfigPath);
  if (userText !== null) layers.push(parseConfigFile(parseJson(userText, userConfigPath), 'user', userConfigPath, home, false));

  let projectFile: string | null = null;
  const base = projectRoot === '/' ? '' : projectRoot;
  const configText = ctx.readFile(`${base}/${PROJECT_CONFIG}`);
  if (configText !== null) {
    projectFile = `${base}/${PROJECT_CONFIG}`;
    layers.push(parseConfigFile(parseJson(configText, projectFile), 'project', projectFile, home, false));
  } else {
    const pkgFile = `${base}/package.json`;
    const pkgText = ctx.readFile(pkgFile);
    const pkg = pkgText === null ? null : parseJson(pkgText, pkgFile);
    if (isObject(pkg) && hasOwn(pkg, 'jail')) {
      projectFile = pkgFile;
      layers.push(parseConfigFile(pkg.jail, 'project', pkgFile, home, true));
    }
  }

  const profiles = new Map<string, ProfileDecl[]>();
  for (const d of layers.flat()) profiles.set(d.name, [...(profiles.get(d.name) ?? []), d]);
  const config: LoadedConfig = { projectRoot, projectFile, userFile: userText === null ? null : userConfigPath, userConfigPath, profiles, host };
  checkExtends(config);
  return config;
}

/** The nearest ancestor of cwd (itself included) holding jail.config.json or
 *  package.json. The search stops below $HOME and `/`: a stray
 *  ~/package.json must not make the whole home directory "the project". */
export function findProjectRoot(host: Host): string {
  const cwd = normalize(host.cwd);
  const home = normalize(host.home);
  for (let dir = cwd; ; dir = parentOf(dir)) {
    if (dir !== cwd && isWithin(home, dir)) break; // $HOME, or an ancestor of it
    const base = dir === '/' ? '' : dir;
    if (host.stat(`${base}/${PROJECT_CONFIG}`)?.isFile || host.stat(`${base}/package.json`)?.isFile) return dir;
    if (dir === '/') break;
  }
  return cwd;
}

function parentOf(dir: string): string {
  return dir.slice(0, dir.lastIndexOf('/')) || '/';
}

const TOP_KEYS = ['profiles', '$schema'];

function parseConfigFile(json: unknown, layer: Layer, file: string, home: string, inPackageJson: boolean): ProfileDecl[] {
  const what = inPackageJson ? `"jail" in ${file}` : file;
  const hint = 'write { "profiles": { "NAME": { "ro": ["."], … } } }.';
  if (!isObject(json)) throw new PolicyError(`${what} must be a JSON object.`, hint, file);
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.includes(key)) throw new PolicyError(`${file}: unknown key ${JSON.stringify(key)}; a config holds "profiles".`, hint, file);
  }
  if (json.$schema !== undefined && typeof json.$schema !== 'string') throw new PolicyError(`${file}: "$schema" must be a string.`, undefined, file);
  const profiles = json.profiles === undefined ? {} : json.profiles;
  if (!isObject(profiles)) throw new PolicyError(`${file}: "profiles" must be an object of named profiles.`, hint, file);
  const dir = parentOf(file);
  return Object.entries(profiles).map(([name, p]) => {
    if (!PROFILE_NAME.test(name)) {
      throw new PolicyError(`${file}: profile name ${JSON.stringify(name)} is not a name.`, "use letters, digits, '.', '_' and '-', starting with a letter or digit.", file);
    }
    return parseProfile(p, { name, layer, file, where: `${file}: profile "${name}"`, dir, home });
  });
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

interface DeclSite {
  name: string;
  layer: Layer;
  file: string | null;
  /** Message prefix: `/p/jail.config.json: profile "test"`. */
  where: string;
  /** Relative paths are relative to this directory. */
  dir: string;
  home: string;
}

type Kind = 'string' | 'extends' | 'paths' | 'bool' | 'net' | 'ports' | 'unix' | 'syscalls' | 'env';

/** Every field a profile may have, and its JSON type. */
const FIELDS: Readonly<Record<string, Kind>> = {
  description: 'string',
  extends: 'extends',
  ro: 'paths',
  rw: 'paths',
  system: 'bool',
  net: 'net',
  allowConnect: 'ports',
  allowBind: 'ports',
  allowDns: 'bool',
  allowUnix: 'unix',
  allowRawSockets: 'bool',
  allowSysvIpc: 'bool',
  allowSyscall: 'syscalls',
  keepCaps: 'bool',
  env: 'env',
  envAll: 'bool',
  cleanEnv: 'bool',
  privateTmp: 'bool',
  toolchains: 'bool',
};

const EXPECTED: Record<Kind, string> = {
  string: 'a string',
  extends: 'a profile name or an array of them',
  paths: 'an array of paths',
  bool: 'true or false',
  net: '"none" or "all"',
  ports: 'an array of ports (443) or port ranges ("8000-8100")',
  unix: 'true or an array of socket paths',
  syscalls: 'an array of syscall names',
  env: 'an array of "NAME" or "NAME=VALUE" strings',
};

function parseProfile(json: unknown, site: DeclSite): ProfileDecl {
  const { where, file } = site;
  if (!isObject(json)) throw new PolicyError(`${where} must be an object of fields.`, `e.g. { "ro": ["."], "rw": ["dist"] }.`, file ?? undefined);
  const fields: Record<string, unknown> = {};
  let ext: string[] = [];
  let description: string | undefined;
  for (const [key, value] of Object.entries(json)) {
    const kind = hasOwn(FIELDS, key) ? FIELDS[key] : undefined;
    if (kind === undefined) {
      const near = closest(key, Object.keys(FIELDS));
      throw new PolicyError(
        `${where}: unknown field ${JSON.stringify(key)}${near ? `; did you mean "${near}"?` : '.'}`,
        `a profile's fields are ${Object.keys(FIELDS).join(', ')}.`,
        file ?? undefined,
      );
    }
    const bad = (why = ` must be ${EXPECTED[kind]}`): never => {
      throw new PolicyError(`${where}: "${key}"${why}.`, undefined, file ?? undefined);
    };
    const strings = (v: unknown): string[] => (Array.isArray(v) && v.every((s) => typeof s === 'string') ? v : bad());
    switch (kind) {
      case 'string':
        if (typeof value !== 'string') bad();
        // Printed by `jail profiles`: no terminal escapes from a project's file.
        if (/[\u0000-\u001f\u007f-\u009f]/.test(value as string)) bad(' must not hold control characters');
        description = value as string;
        break;
      case 'extends':
        ext = typeof value === 'string' ? [value] : strings(value);
        for (const e of ext) if (!PROFILE_NAME.test(e)) bad(`: ${JSON.stringify(e)} is not a profile name`);
        break;
      case 'paths':
        fields[key] = strings(value).map((p) => configPath(p, site, key));
        break;
      case 'bool':
        if (typeof value !== 'boolean') bad();
        fields[key] = value;
        break;
      case 'net':
        if (value !== 'none' && value !== 'all') bad();
        fields[key] = value;
        break;
      case 'ports':
        if (!Array.isArray(value)) bad();
        fields[key] = (value as unknown[]).map((v) => {
          if (typeof v !== 'string' && !(typeof v === 'number' && Number.isInteger(v))) bad();
          const s = String(v);
          try {
            parsePorts(key, s);
          } catch {
            bad(`: ${JSON.stringify(v)} is not a TCP port or port range (1 to 65535)`);
          }
          return s;
        });
        break;
      case 'unix':
        if (value === true) fields[key] = [true];
        else fields[key] = strings(value).map((p) => configPath(p, site, key));
        break;
      case 'syscalls':
        fields[key] = strings(value);
        for (const s of fields[key] as string[]) if (!/^[a-z_][a-z0-9_]*$/.test(s)) bad(`: ${JSON.stringify(s)} is not a syscall name`);
        break;
      case 'env':
        fields[key] = strings(value);
        for (const e of fields[key] as string[]) {
          try {
            parseEnv([e]);
          } catch {
            bad(`: ${JSON.stringify(e)} is not NAME or NAME=VALUE`);
          }
        }
        break;
    }
  }
  const from = site.layer === 'built-in' ? `built-in profile ${site.name}` : `profile ${site.name}, ${file}`;
  return { name: site.name, layer: site.layer, file, from, extends: ext, ...(description !== undefined && { description }), fields: fields as ProfileFields };
}

/** `~` expands; relative paths are relative to the declaring file's
 *  directory, not the working directory; a trailing `?` is kept. */
function configPath(given: string, site: DeclSite, key: string): ConfigPath {
  const optional = given.endsWith('?') && given.length > 1;
  let p = optional ? given.slice(0, -1) : given;
  if (p === '' || p === '?') {
    throw new PolicyError(`${site.where}: "${key}" holds an empty path.`, 'write "." for the directory of this file.', site.file ?? undefined);
  }
  if (p === '~') p = site.home;
  else if (p.startsWith('~/')) p = site.home + p.slice(1);
  if (!p.startsWith('/')) p = `${site.dir}/${p}`;
  return { given, path: normalize(p) + (optional ? '?' : '') };
}

/** Every `extends` names a profile, and no profile extends itself. */
function checkExtends(config: LoadedConfig): void {
  const names = [...config.profiles.keys()];
  for (const decls of config.profiles.values()) {
    for (const d of decls) {
      for (const e of d.extends) {
        if (config.profiles.has(e)) continue;
        const near = closest(e, names);
        throw new PolicyError(
          `${d.file ?? 'built-in'}: profile "${d.name}" extends unknown profile "${e}"${near ? `; did you mean "${near}"?` : '.'}`,
          `profiles: ${names.sort().join(', ')}.`,
          d.file ?? undefined,
        );
      }
    }
  }
  for (const name of names.sort()) linearise(config, name);
}

/** A profile and everything it extends, each once, lowest first: extended
 *  profiles (depth first, in order) come before the one extending them. */
function linearise(config: LoadedConfig, name: string): string[] {
  const out: string[] = [];
  const stack: string[] = [];
  const visit = (n: string) => {
    if (out.includes(n)) return;
    const at = stack.indexOf(n);
    if (at >= 0) throw cycleError(config, [...stack.slice(at), n]);
    stack.push(n);
    for (const e of mergedExtends(config, n)) visit(e);
    stack.pop();
    out.push(n);
  };
  visit(name);
  return out;
}

function cycleError(config: LoadedConfig, cycle: string[]): PolicyError {
  // Name the file of each edge: which declaration says "a extends b".
  const edgeFile = (a: string, b: string) => {
    const d = config.profiles.get(a)?.find((x) => x.extends.includes(b));
    return d?.file ?? 'built-in';
  };
  const edges = cycle.slice(0, -1).map((a, i) => `"${a}" extends "${cycle[i + 1]}" in ${edgeFile(a, cycle[i + 1]!)}`);
  const first = edgeFile(cycle[0]!, cycle[1]!);
  return new PolicyError(
    `${first}: profile "${cycle[0]}" extends itself: ${cycle.join(' → ')}.`,
    `remove one of: ${edges.join('; ')}.`,
    first === 'built-in' ? undefined : first,
  );
}

function mergedExtends(config: LoadedConfig, name: string): string[] {
  return unique((config.profiles.get(name) ?? []).flatMap((d) => d.extends), (x) => x);
}

// -------------------------------------------------------------- resolving

/** One profile, with what it extends and every layer's declaration of each,
 *  merged into JailOptions. A project declaration that widens the policy or
 *  grants a path outside the project is refused here. */
export function resolveProfile(config: LoadedConfig, name: string): ResolvedProfile {
  const decls = config.profiles.get(name);
  if (!decls) throw unknownProfile(config, name);
  let options: JailOptions = {};
  const chain: string[] = [];
  for (const n of linearise(config, name)) {
    const layers = config.profiles.get(n) ?? [];
    for (const d of layers) options = mergeOptions(options, toOptions(d, config));
    chain.push(`${n} (${layers.map((d) => (d.file ? `${d.layer} ${d.file}` : d.layer)).join(', ')})`);
  }
  const description = descriptionOf(decls);
  return { options, chain, ...(description !== undefined && { description }) };
}

/** Every profile, by name, for `jail profiles`. */
export function listProfiles(config: LoadedConfig): ProfileListing[] {
  return [...config.profiles.keys()].sort().map((name) => {
    const decls = config.profiles.get(name)!;
    let problem: string | undefined;
    try {
      resolveProfile(config, name);
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      problem = e.message;
    }
    return {
      name,
      layers: decls.map((d) => d.layer),
      files: decls.flatMap((d) => (d.file ? [d.file] : [])),
      description: descriptionOf(decls) ?? '',
      extends: mergedExtends(config, name),
      ...(problem !== undefined && { problem }),
    };
  });
}

function descriptionOf(decls: readonly ProfileDecl[]): string | undefined {
  return decls.reduce<string | undefined>((acc, d) => d.description ?? acc, undefined);
}

function unknownProfile(config: LoadedConfig, name: string): PolicyError {
  const names = [...config.profiles.keys()].sort();
  const near = closest(name, names);
  const files = [config.projectFile ?? `${config.projectRoot === '/' ? '' : config.projectRoot}/${PROJECT_CONFIG}`, tilde(config.userConfigPath, config.host.home)];
  return new PolicyError(
    `unknown profile ${JSON.stringify(name)}; profiles: ${names.join(', ')}.`,
    near ? `did you mean -p ${near}?` : `define it under "profiles" in ${files.join(' or ')}.`,
  );
}

/** A declaration as JailOptions: paths absolute, carrying where they came from. */
function toOptions(d: ProfileDecl, config: LoadedConfig): JailOptions {
  const f = d.layer === 'project' ? projectFields(d, config) : d.layer === 'built-in' ? builtinFields(d, config) : d.fields;
  const entry = (p: ConfigPath): PathEntry => ({ path: p.path, from: d.from });
  const { ro, rw, allowUnix, ...scalars } = f;
  return {
    ...scalars,
    ...(ro && { ro: ro.map(entry) }),
    ...(rw && { rw: rw.map(entry) }),
    ...(allowUnix && { allowUnix: allowUnix.map((u) => (u === true ? u : u.path)) }),
  };
}

/**
 * The security rule. What a project profile itself declares may narrow the
 * policy and grant paths inside the project tree; anything else is refused.
 * Paths are judged by where they resolve (symlinks followed; a missing path
 * by its nearest existing ancestor), and the resolved path is what is
 * granted, so a link cannot be swapped between this check and the grant.
 *
 * A project may extend built-in and user profiles from profiles of its own,
 * but may not change what a built-in or user profile extends: a hostile
 * dependency's package.json must not make `npm-install` pull in the grants
 * of the user's `deploy` profile.
 */
function projectFields(d: ProfileDecl, config: LoadedConfig): ProfileFields {
  const { host } = config;
  const f = d.fields;
  const userConfig = tilde(config.userConfigPath, host.home);
  const refuse = (what: string, flag: string | null): never => {
    throw new PolicyError(
      `${d.file}: profile "${d.name}": ${what}.`,
      flag ? `put it in ${userConfig} or pass the flag yourself (${flag}).` : `put it in ${userConfig} if you mean it.`,
      d.file ?? undefined,
    );
  };
  const mayNot = (what: string, why = "it may only narrow the policy and grant paths inside the project") => `a project's config may not set ${what}; ${why}`;
  if (f.net === 'all') refuse(mayNot('"net": "all"'), '--net all');
  const lists = [
    ['allowConnect', '--allow-connect'],
    ['allowBind', '--allow-bind'],
    ['allowSyscall', '--allow-syscall'],
  ] as const;
  for (const [key, flag] of lists) {
    const first = f[key]?.[0];
    if (first !== undefined) refuse(mayNot(`"${key}"`), `${flag} ${first}`);
  }
  const unix = f.allowUnix?.[0];
  if (unix !== undefined) refuse(mayNot('"allowUnix"'), unix === true ? '--allow-unix' : `--allow-unix ${unix.given}`);
  const grants = [
    ['allowDns', '--allow-dns'],
    ['allowRawSockets', '--allow-raw-sockets'],
    ['allowSysvIpc', '--allow-sysv-ipc'],
    ['keepCaps', '--keep-caps'],
    ['envAll', '--env-all'],
    ['toolchains', '--toolchains'],
  ] as const;
  for (const [key, flag] of grants) if (f[key] === true) refuse(mayNot(`"${key}": true`), flag);
  // The defaults, but set here they would undo a lower layer's narrowing.
  if (f.system === true) refuse(mayNot('"system": true', 'it would turn the system base back on'), null);
  if (f.cleanEnv === false) refuse(mayNot('"cleanEnv": false', 'it would turn the clean environment back off'), null);
  for (const e of f.env ?? []) {
    if (!e.includes('=')) {
      refuse(`a project's config may not pass ${JSON.stringify(e)} through from your environment; it could hand a secret to the program ("NAME=VALUE" is fine)`, `--env ${e}`);
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
  const inside = (key: 'ro' | 'rw') =>
    (f[key] ?? []).map((p): ConfigPath => {
      const optional = p.path.endsWith('?');
      const abs = optional ? p.path.slice(0, -1) : p.path;
      const real = resolveNearest(abs, host);
      if (!isWithin(real, root)) {
        const shown = real === abs ? abs : `${abs} → ${real}`;
        refuse(`"${key}" path ${JSON.stringify(p.given)} (${shown}) is outside the project ${root}; a project's config may only grant paths inside it`, `--${key} ${p.given}`);
      }
      return { given: p.given, path: real + (optional ? '?' : '') };
    });
  return { ...f, ...(f.ro && { ro: inside('ro') }), ...(f.rw && { rw: inside('rw') }) };
}

/** realpath, or for a missing path its nearest existing ancestor's realpath
 *  with the rest appended: `link/new` where link → /home/u is /home/u/new. */
function resolveNearest(abs: string, host: Host): string {
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
    const abs = p.path.endsWith('?') ? p.path.slice(0, -1) : p.path;
    if (isWithin(home, abs)) {
      throw new PolicyError(
        `built-in profile "${d.name}" would grant ${abs}, which holds your home directory (the project root is ${config.projectRoot}).`,
        'run jail inside a project (a directory with package.json or jail.config.json), or pass --ro/--rw yourself.',
      );
    }
  }
  return d.fields;
}

// ---------------------------------------------------------------- merging

/**
 * `upper` on top of `lower`: arrays concatenate (de-duplicated, first
 * occurrence kept; path entries by path), scalars and booleans from `upper`
 * win when set. Used between layers and for the CLI's flags on top.
 */
export function mergeOptions(lower: JailOptions, upper: JailOptions): JailOptions {
  const out: Record<string, unknown> = { ...lower };
  for (const [key, value] of Object.entries(upper) as Array<[string, unknown]>) {
    if (value === undefined) continue;
    const below = out[key];
    out[key] = Array.isArray(value) && (below === undefined || Array.isArray(below)) ? unique([...((below as unknown[]) ?? []), ...value], entryKey) : value;
  }
  return out as JailOptions;
}

function entryKey(x: unknown): unknown {
  return typeof x === 'object' && x !== null && 'path' in x ? (x as { path: string }).path : x;
}

function unique<T>(xs: T[], key: (x: T) => unknown): T[] {
  const seen = new Set<unknown>();
  return xs.filter((x) => {
    const k = key(x);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

// ------------------------------------------------------------------- JSON

/** JSON.parse, with line, column and a caret under the problem when it fails
 *  (Node's own messages have no position, or only an offset). */
export function parseJson(text: string, file: string): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return JSON.parse(body) as unknown;
  } catch (e) {
    const err = locateJsonError(body);
    if (!err) throw new PolicyError(`${file}: not valid JSON: ${(e as Error).message}`, undefined, file);
    const { line, col, excerpt, caret } = pointAt(body, err.at);
    throw new PolicyError(
      `${file}:${line}:${col}: not valid JSON: ${err.what}\n    ${excerpt}\n    ${caret}`,
      'fix the file: JSON has no comments or trailing commas, and strings take double quotes.',
      file,
    );
  }
}

class JsonStop {
  constructor(
    readonly at: number,
    readonly what: string,
  ) {}
}

const MAX_DEPTH = 512;

/** Where and why `text` is not JSON; null when it is (as far as this scanner
 *  knows). Mirrors RFC 8259. */
export function locateJsonError(text: string): { at: number; what: string } | null {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (what: string, at = i): never => {
    throw new JsonStop(at, what);
  };
  const eof = () => fail('unexpected end of file', text.trimEnd().length);
  const found = () => (i >= text.length ? 'the end of the file' : showChar(text[i]!));
  const unexpected = (): never => {
    const c = text[i];
    if (c === undefined) return eof();
    if (c === '/') return fail("unexpected '/' (JSON has no comments)");
    if (c === "'") return fail(`unexpected "'" (strings take double quotes)`);
    const word = /[A-Za-z_$][\w$-]*/y;
    word.lastIndex = i;
    const m = word.exec(text);
    if (m) return fail(`unexpected word ${JSON.stringify(m[0])} (strings take double quotes)`);
    return fail(`unexpected ${showChar(c)}`);
  };
  const string = () => {
    const start = i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fail('string not closed', start);
      else if (c === '"') return void i++;
      else if (c === '\\') {
        const n = text[i + 1];
        if (n !== undefined && '"\\/bfnrt'.includes(n)) i += 2;
        else if (n === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else fail('bad escape in a string');
      } else if (c < ' ') fail(c === '\n' ? 'line break in a string' : 'control character in a string');
      else i++;
    }
  };
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) fail('nested too deeply');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') {
          if (text[i] === '}') fail("unexpected '}' (JSON has no trailing commas)");
          if (text[i] === undefined) eof();
          if (text[i] === '/' || text[i] === "'") unexpected();
          fail(`expected a property name in double quotes, found ${found()}`);
        }
        string();
        ws();
        if (text[i] !== ':') fail(`expected ':' after a property name, found ${found()}`);
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else if (text[i] === undefined) eof();
        else fail(`expected ',' or '}' after a property, found ${found()}`);
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') fail("unexpected ']' (JSON has no trailing commas)");
        } else if (text[i] === ']') return void i++;
        else if (text[i] === undefined) eof();
        else fail(`expected ',' or ']' after an array element, found ${found()}`);
      }
    }
    if (c === '"') return string();
    number.lastIndex = i;
    const num = number.exec(text);
    if (num) return void (i += num[0].length);
    for (const lit of ['true', 'false', 'null']) {
      if (text.startsWith(lit, i) && !/[\w$]/.test(text[i + lit.length] ?? '')) return void (i += lit.length);
    }
    unexpected();
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail(`unexpected ${found()} after the end of the JSON value`);
    return null;
  } catch (e) {
    if (e instanceof JsonStop) return { at: e.at, what: e.what };
    throw e;
  }
}

function showChar(c: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(c) || c === "'" ? JSON.stringify(c) : `'${c}'`;
}

const EXCERPT = 100;

/** 1-based line and column of an offset, the line (safe to print, cut to
 *  about 100 characters around the column) and a caret under the column. */
export function pointAt(text: string, at: number): { line: number; col: number; excerpt: string; caret: string } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < at && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      start = k + 1;
    }
  }
  const col = at - start + 1;
  const end = text.indexOf('\n', start);
  let shown = text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
  let pos = col - 1;
  if (shown.length > EXCERPT) {
    const from = Math.max(0, pos - 60);
    const cut = shown.slice(from, from + EXCERPT);
    shown = (from > 0 ? '…' : '') + cut + (from + EXCERPT < shown.length ? '…' : '');
    pos = pos - from + (from > 0 ? 1 : 0);
  }
  // No terminal escapes or bidi overrides from the file reach the terminal.
  shown = shown.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '\ufffd');
  const caret = shown.slice(0, pos).replace(/[^\t]/g, ' ') + '^';
  return { line, col, excerpt: shown, caret };
}

// ------------------------------------------------------------------ small

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function hasOwn(o: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

function tilde(p: string, home: string): string {
  const h = normalize(home);
  return h !== '/' && isWithin(p, h) ? '~' + p.slice(h.length) : p;
}

/** The closest name within a small edit distance, for "did you mean". */
export function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(word.length / 3)) + 1;
  for (const n of names) {
    const d = editDistance(word.toLowerCase(), n.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: a swap of two neighbours ("tset") counts once.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
