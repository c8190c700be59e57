/**
 * The user's npm and git config, credentials taken out, for the private
 * TMPDIR: the real files stay hidden (their tokens with them), while npm
 * keeps its registry, nodedir and cafile, and git its name and email (git
 * treats an unreadable ~/.gitconfig as fatal). Pure: reads through the Host
 * and returns the files to write, the variables that point the tools at
 * them, and read grants for the files the kept settings name (a cafile
 * under $HOME), without which the tools fail. Nothing is written here.
 */
import type { Host } from '../policy/host.js';
import type { PathGrant } from '../policy/model.js';
import { grantOf, isWithin, resolveReal } from '../policy/paths.js';
import { sanitizeGitconfig, sanitizeNpmrc } from './userconfig.js';

type Env = Record<string, string | undefined>;

export interface Copies {
  /** Files for the private TMPDIR, by name within it. */
  files: Array<{ name: string; text: string }>;
  env: Record<string, string>;
  grants: PathGrant[];
  /** Where each copy stands in for the original, for a view that shows it
   *  at the real path (tools that clear GIT_CONFIG_GLOBAL still find it). */
  overlays: Array<{ path: string; source: string }>;
}

/**
 * Your npm config file: $NPM_CONFIG_USERCONFIG or ~/.npmrc. Never npm's
 * lower-case npm_config_userconfig: inside an npm script that one is
 * npm's merged config, which the project's .npmrc can set
 * (`userconfig=~/.ssh/id_rsa` would hand jail a key to "sanitise").
 */
export function userNpmrcPath(host: Host, env: Env): string | null {
  return env.NPM_CONFIG_USERCONFIG ? yours(host, env.NPM_CONFIG_USERCONFIG) : `${host.home}/.npmrc`;
}

/**
 * A path from your config or environment, `~` expanded, when it is written
 * out; null when relative. A relative path is the tool's, read where it
 * runs: in the project (npm and git resolve it from their working
 * directory), whose files are the project's. Resolved here from jail's
 * working directory, a committed `.git-blame-ignore-revs ->
 * ~/.ssh/id_ed25519`, or a project `.npmrc` saying `cache=~/.ssh`, would
 * become a grant or a copy.
 */
function yours(host: Host, p: string): string | null {
  const abs = p === '~' || p.startsWith('~/') ? host.home + p.slice(1) : p;
  return abs.startsWith('/') ? abs : null;
}

/**
 * npm's cache as you configured it: $NPM_CONFIG_CACHE, or `cache=` in your
 * own npm config, else ~/.npm. Never npm_config_cache, which a project's
 * .npmrc sets for its scripts (`cache=~/.ssh` would be granted read-write).
 */
/**
 * Whether a config file lies in the project (where it resolves): then it is
 * the project's, whoever pointed at it (CI's NPM_CONFIG_USERCONFIG=$PWD/.npmrc),
 * and what it names (`cafile=~/.ssh/id_ed25519`, `cache=~/.ssh`) is no grant.
 */
function inProject(host: Host, file: string, projectRoot: string | undefined): boolean {
  if (projectRoot === undefined) return false;
  return isWithin(host.realpath(file) ?? file, host.realpath(projectRoot) ?? projectRoot);
}

export function npmCacheOf(host: Host, env: Env, projectRoot?: string): string {
  const home = (p: string) => (p === '~' || p.startsWith('~/') ? host.home + p.slice(1) : p);
  if (env.NPM_CONFIG_CACHE?.startsWith('/') || env.NPM_CONFIG_CACHE?.startsWith('~')) return home(env.NPM_CONFIG_CACHE);
  let text: string | null = null;
  const npmrc = userNpmrcPath(host, env);
  try {
    if (npmrc !== null && !inProject(host, npmrc, projectRoot)) text = host.readText(npmrc, { follow: true });
  } catch {
    // not a regular file: npm's default
  }
  const m = text === null ? null : /^[ \t]*cache[ \t]*=[ \t]*(.*?)[ \t]*$/m.exec(text);
  const value = m?.[1]?.replace(/^(["'])(.*)\1$/, '$2');
  return value && !value.includes('${') && (value.startsWith('/') || value.startsWith('~')) ? home(value) : `${host.home}/.npm`;
}

/** `proxy`: the egress proxy's URL (--allow-host), set as git's
 *  http.proxy in the copy, after (so over) any the user's config names. */
export function userConfigCopies(host: Host, env: Env, tmpDir: string, proxy?: string, projectRoot?: string): Copies {
  const read = (p: string) => {
    try {
      return host.readText(p, { follow: true });
    } catch {
      return null; // not a regular file: leave it out
    }
  };
  const out: Copies = { files: [], env: {}, grants: [], overlays: [] };
  const grantFiles = (files: Array<{ key: string; path: string }>, except: string[] = []) => {
    for (const f of files) {
      if (except.includes(f.key.toLowerCase())) continue;
      const p = yours(host, f.path);
      if (p === null) continue;
      const r = resolveReal(p, host);
      if (r?.st.isFile) out.grants.push(grantOf(r, 'ro', { kind: 'jail', what: `named by ${f.key} in your config` }));
    }
  };

  const npmrcPath = userNpmrcPath(host, env);
  const npmrc = npmrcPath === null ? null : read(npmrcPath);
  if (npmrcPath !== null && npmrc !== null) {
    const s = sanitizeNpmrc(npmrc);
    out.files.push({ name: 'npmrc', text: s.text });
    out.env.NPM_CONFIG_USERCONFIG = out.env.npm_config_userconfig = `${tmpDir}/npmrc`;
    out.overlays.push({ path: npmrcPath, source: `${tmpDir}/npmrc` });
    if (!inProject(host, npmrcPath, projectRoot)) grantFiles(s.files);
  }

  // git reads $XDG_CONFIG_HOME/git/config, then ~/.gitconfig (which wins).
  // $XDG_CONFIG_HOME only when absolute, as the XDG spec says: a
  // relative one would be read from jail's working directory, the project.
  const gitDir = `${env.XDG_CONFIG_HOME?.startsWith('/') ? env.XDG_CONFIG_HOME : `${host.home}/.config`}/git`;
  const globalPath = env.GIT_CONFIG_GLOBAL !== undefined ? yours(host, env.GIT_CONFIG_GLOBAL) : `${host.home}/.gitconfig`;
  const [xdg, global] = [read(`${gitDir}/config`), globalPath === null ? null : read(globalPath)];
  const texts = [xdg, global].filter((t): t is string => t !== null);
  if (texts.length || proxy !== undefined) {
    // Settings from a config in the project name nothing jail grants or copies.
    const theirs = (xdg !== null && inProject(host, `${gitDir}/config`, projectRoot)) || (global !== null && globalPath !== null && inProject(host, globalPath, projectRoot));
    const s = sanitizeGitconfig(texts.join('\n'));
    let text = s.text;
    // git dies on an exclude file it cannot read, the default one too:
    // copy it, and point the copy of the config at it (a later value wins).
    const excludes = [...s.files].reverse().find((f) => f.key.toLowerCase() === 'core.excludesfile');
    const excludesPath = excludes ? (theirs ? null : yours(host, excludes.path)) : `${gitDir}/ignore`;
    const ignore = excludesPath === null ? null : read(excludesPath);
    if (ignore !== null) {
      out.files.push({ name: 'gitignore', text: ignore });
      text += `\n[core]\n\texcludesFile = ${tmpDir}/gitignore\n`;
    }
    if (proxy !== undefined) text += `\n[http]\n\tproxy = ${proxy}\n`;
    out.files.push({ name: 'gitconfig', text });
    out.env.GIT_CONFIG_GLOBAL = `${tmpDir}/gitconfig`;
    // One copy holds both: shown where git looks first without the variable.
    if (texts.length) out.overlays.push({ path: global !== null && globalPath !== null ? globalPath : `${gitDir}/config`, source: `${tmpDir}/gitconfig` });
    if (!theirs) grantFiles(s.files, ['core.excludesfile']);
  }
  return out;
}
