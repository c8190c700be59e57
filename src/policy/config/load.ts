/**
 * Reading the config layers, lowest first: built-in (profiles.ts), the
 * user's ($XDG_CONFIG_HOME/jail/config.json) and the project's
 * (jail.config.json, else package.json's "jail" key). At most three small
 * files, each a regular file (a FIFO or /dev/zero must not stall jail), the
 * project's never through a symlink.
 */
import { PolicyError } from '../../errors.js';
import { closest } from '../../text.js';
import type { Host } from '../host.js';
import { isWithin, normalize } from '../paths.js';
import { builtinProfiles } from '../profiles.js';
import { parseJson } from './json.js';
import { PROJECT_CONFIG, type ConfigContext, type LoadedConfig } from './types.js';
import { isObject, parseConfigFile, parseProfile, type ProfileDecl } from './validate.js';

/** The profile that is always empty (the API's starting point): no config
 *  may declare it, and naming it loads no config at all. */
export const RESERVED = 'none';

export function loadConfig(ctx: ConfigContext): LoadedConfig {
  const { host } = ctx;
  const read = ctx.readFile ?? ((p: string, o: { follow: boolean }) => host.readText(p, o));
  const home = normalize(host.home);
  const projectRoot = ctx.projectRoot !== undefined ? normalize(ctx.projectRoot) : findProjectRoot(host);
  const layers: ProfileDecl[][] = [];

  const builtins = builtinProfiles({ projectRoot, home, nodePrefix: ctx.nodePrefix, npmCache: ctx.npmCache });
  layers.push([...builtins].map(([name, json]) => parseProfile(json, { name, layer: 'built-in', file: null, where: `built-in profile "${name}"`, dir: '/', home })));

  const configHome = ctx.xdgConfigHome?.startsWith('/') ? normalize(ctx.xdgConfigHome) : `${home}/.config`;
  const userConfigPath = `${configHome === '/' ? '' : configHome}/jail/config.json`;
  // Your own file: a dotfile manager may link it from elsewhere.
  const userText = read(userConfigPath, { follow: true });
  if (userText !== null) layers.push(parseConfigFile(parseJson(userText, userConfigPath, { comments: true }), 'user', userConfigPath, home, false));

  let projectFile: string | null = null;
  const base = projectRoot === '/' ? '' : projectRoot;
  const configText = read(`${base}/${PROJECT_CONFIG}`, { follow: false });
  if (configText !== null) {
    projectFile = `${base}/${PROJECT_CONFIG}`;
    layers.push(parseConfigFile(parseJson(configText, projectFile, { comments: true }), 'project', projectFile, home, false));
  } else {
    const pkgFile = `${base}/package.json`;
    const pkgText = read(pkgFile, { follow: false });
    const pkg = pkgText === null ? null : parseJson(pkgText, pkgFile);
    if (isObject(pkg) && Object.prototype.hasOwnProperty.call(pkg, 'jail')) {
      projectFile = pkgFile;
      layers.push(parseConfigFile(pkg.jail, 'project', pkgFile, home, true));
    }
  }

  const profiles = new Map<string, ProfileDecl[]>();
  for (const d of layers.flat()) {
    if (d.name === RESERVED && d.layer !== 'built-in') {
      throw new PolicyError(`${d.file}: profile name "${RESERVED}" is reserved: it always means nothing beyond the system base.`, 'give your profile another name.', d.file ?? undefined);
    }
    // A project's "test" that extends "test" means the layers below (the
    // built-in "test"), which are merged under it anyway: the edge is no
    // cycle, and changes nothing the profile extends.
    const below = profiles.get(d.name) ?? [];
    const decl = below.length > 0 && d.extends.includes(d.name) ? { ...d, extends: d.extends.filter((e) => e !== d.name) } : d;
    profiles.set(d.name, [...below, decl]);
  }
  const config: LoadedConfig = { projectRoot, projectFile, userFile: userText === null ? null : userConfigPath, userConfigPath, profiles, host };
  checkExtends(config);
  return config;
}

/** The nearest ancestor of cwd (itself included) holding jail.config.json or
 *  package.json. The search stops below $HOME and `/`: a stray
 *  ~/package.json must not make the whole home directory "the project".
 *  It stops below a shared directory too (world-writable with the sticky
 *  bit: /tmp, /var/tmp, /dev/shm): `npm i x` in /tmp leaves a
 *  /tmp/package.json, and any local user may plant a /tmp/jail.config.json;
 *  neither makes all of /tmp, with everyone's files in it, the project. */
export function findProjectRoot(host: Host): string {
  const cwd = normalize(host.cwd);
  const home = normalize(host.home);
  for (let dir = cwd; ; dir = parentOf(dir)) {
    if (dir !== cwd && isWithin(home, dir)) break; // $HOME, or an ancestor of it
    if (dir !== cwd && isShared(host, dir)) break;
    const base = dir === '/' ? '' : dir;
    if (host.stat(`${base}/${PROJECT_CONFIG}`, true)?.isFile || host.stat(`${base}/package.json`, true)?.isFile) return dir;
    if (dir === '/') break;
  }
  return cwd;
}

/** World-writable with the sticky bit, as /tmp: a directory every user fills. */
function isShared(host: Host, dir: string): boolean {
  const mode = host.stat(dir)?.mode ?? 0;
  return (mode & 0o1002) === 0o1002;
}

export function parentOf(dir: string): string {
  return dir.slice(0, dir.lastIndexOf('/')) || '/';
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
export function linearise(config: LoadedConfig, name: string): string[] {
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

export function mergedExtends(config: LoadedConfig, name: string): string[] {
  return [...new Set((config.profiles.get(name) ?? []).flatMap((d) => d.extends))];
}
