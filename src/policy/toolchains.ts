/**
 * Toolchains under $HOME that PATH names: pyenv's shims, rustup's proxies in
 * ~/.cargo/bin, nvm's node, ~/.local/bin, ~/bin. $HOME is hidden in the
 * jail, so a tool that finds `python3` on PATH (node-gyp) could not run it.
 * Each is recognised by its shape and gets read and execute on exactly what
 * it runs from, never $HOME or a credentials file next to it: ~/.cargo holds
 * credentials.toml, so only ~/.cargo/bin is granted, and ~/.local holds
 * keyrings, so only ~/.local/bin and the venvs its links point into.
 *
 * Cheap, as it runs on every start: a few stat and realpath calls per PATH
 * entry, and for a plain bin directory one readdir to follow its links.
 */
import type { Host } from './host.js';
import type { PathGrant } from './model.js';
import { grantOf, isWithin, normalize, resolveReal } from './paths.js';
import { statOnPath } from './command.js';

/**
 * Paths under $HOME (relative to it) that hold keys, tokens or passwords.
 * No toolchain grant covers one or lies inside one; so ~/.config, ~/.cargo
 * and ~/.local are never granted whole either. `jail learn` (learn.ts)
 * grants $HOME without these, and never learns one.
 */
export const HOME_SECRETS: readonly string[] = [
  '.ssh', '.gnupg', '.aws', '.azure', '.kube', '.docker', '.password-store', '.terraform.d',
  '.netrc', '.npmrc', '.yarnrc', '.yarnrc.yml', '.pypirc', '.gitconfig', '.git-credentials',
  '.pgpass', '.my.cnf', '.boto', '.s3cfg', '.vault-token', '.dockercfg',
  '.cargo/credentials', '.cargo/credentials.toml', '.cargo/config', '.cargo/config.toml',
  '.gem/credentials', '.m2/settings.xml', '.m2/settings-security.xml', '.gradle/gradle.properties',
  '.config/gh', '.config/hub', '.config/gcloud', '.config/git', '.config/op', '.config/rclone',
  '.config/containers', '.config/helm', '.config/doctl', '.config/jail',
  '.local/share/keyrings', '.local/share/password-store', '.claude/.credentials.json', '.codex/auth.json',
  '.mozilla', '.pki', '.bash_history', '.zsh_history', '.python_history', '.node_repl_history',
];

/** At most this many links of one bin directory are followed. */
const MAX_LINKS = 64;

/**
 * Read-and-execute grants for the toolchains under $HOME that PATH names.
 * A PATH entry counts when its real path lies under $HOME; missing and
 * relative entries are skipped. By shape:
 *
 * - pyenv (`<root>/shims`, `<root>/bin`, `<root>/plugins/<p>/shims`, where
 *   `<root>/libexec/pyenv` exists): the shim is a bash script running
 *   libexec/pyenv, which reads `version`, sources hooks from pyenv.d and
 *   plugins, and runs a python from versions/. Those parts, not the root
 *   (a git checkout with its .git).
 * - rustup (`<cargo home>/bin` holding `rustup`): that bin directory, and
 *   the rustup home's settings.toml and toolchains (with linked toolchains'
 *   targets), which the proxies read; not credentials.toml or config.toml.
 * - a runtime's bin (`<prefix>/bin` with `<prefix>/lib`, at least two levels
 *   below $HOME: nvm's `versions/node/<v>`, a pyenv version, a venv; or a
 *   conda prefix, marked by conda-meta/): the prefix; for a venv also the
 *   prefix of the python it was made from.
 * - anything else (~/bin, ~/.local/bin, ~/go/bin): that directory, plus
 *   what its links point to under $HOME (pipx links into its venvs).
 */
export function toolchainGrants(host: Host, projectRoot?: string): PathGrant[] {
  const homes = [...new Set([normalize(host.home), host.realpath(host.home) ?? normalize(host.home)])];
  const underHome = (p: string) => homes.some((h) => p !== h && isWithin(p, h));
  const project = projectRoot === undefined ? null : (host.realpath(projectRoot) ?? normalize(projectRoot));
  const grants: PathGrant[] = [];
  for (const entry of new Set(host.path.split(':'))) {
    if (!entry.startsWith('/')) continue;
    const dir = host.realpath(entry);
    if (!dir || !underHome(dir) || !statOnPath(dir, host)?.isDir) continue;
    // Anything a dependency or a jailed run may write is no toolchain: npm
    // puts node_modules/.bin first on PATH, and a package can make its bin
    // (or .bin itself) a link to a credentials file or another project.
    if (inNodeModules(entry) || inNodeModules(dir) || (project !== null && isWithin(dir, project))) continue;
    const source = { kind: 'base', what: `toolchain on PATH: ${entry}` } as const;
    const add = (path: string) => {
      const r = resolveReal(path, host);
      if (r) grants.push(grantOf(r, 'ro', source));
    };
    const pyenv = pyenvRoot(dir, host);
    const prefix = runtimePrefixOf(dir, homes, host);
    if (pyenv) {
      for (const part of ['bin', 'libexec', 'shims', 'plugins', 'pyenv.d', 'versions', 'version']) add(`${pyenv}/${part}`);
    } else if (host.stat(`${dir}/rustup`)?.isFile) {
      add(dir);
      const rustup = rustupHome(dir, homes, host);
      if (rustup) {
        add(`${rustup}/settings.toml`);
        add(`${rustup}/toolchains`);
        // `rustup toolchain link` toolchains are links to a build elsewhere.
        for (const e of host.readdir(`${rustup}/toolchains`).slice(0, MAX_LINKS)) {
          const target = e.isSymlink ? host.realpath(`${rustup}/toolchains/${e.name}`) : null;
          if (target && underHome(target)) add(target);
        }
      }
    } else if (prefix) {
      for (const p of withVenvBase(prefix, homes, host)) add(p);
    } else {
      add(dir);
      // Links out of it are followed only into an install that is a
      // toolchain by its shape (pipx's venvs, an nvm or pyenv version),
      // never to a plain file: ~/bin/x -> ~/.claude/.credentials.json.
      for (const e of host.readdir(dir).filter((e) => e.isSymlink).slice(0, MAX_LINKS)) {
        const target = host.realpath(`${dir}/${e.name}`);
        if (!target || isWithin(target, dir) || !underHome(target)) continue;
        const p = runtimePrefixOf(parent(target), homes, host);
        if (p && isInstall(p, host)) for (const q of withVenvBase(p, homes, host)) add(q);
      }
    }
  }
  return dedupe(safe(grants, homes));
}

const inNodeModules = (p: string) => p.split('/').includes('node_modules');

/** A runtime install by its marks: a venv, a conda prefix, or a version
 *  directory of a version manager (nvm, pyenv, asdf: `…/versions/<v>`). */
function isInstall(prefix: string, host: Host): boolean {
  return !!(host.stat(`${prefix}/pyvenv.cfg`)?.isFile || host.stat(`${prefix}/conda-meta`)?.isDir || /\/versions(\/[^/]+)?\/[^/]+$/.test(prefix));
}

/** The pyenv root a PATH entry belongs to: shims/, bin/ or a plugin's. */
function pyenvRoot(dir: string, host: Host): string | null {
  const parts = dir.split('/');
  const last = parts[parts.length - 1];
  if (last !== 'shims' && last !== 'bin') return null;
  const roots = [parts.slice(0, -1).join('/')];
  if (parts[parts.length - 3] === 'plugins') roots.push(parts.slice(0, -3).join('/'));
  return roots.find((r) => r !== '' && host.stat(`${r}/libexec/pyenv`)?.isFile) ?? null;
}

/** rustup's home for a cargo bin directory: ~/.rustup next to ~/.cargo,
 *  or `rustup` next to a relocated cargo home, or ~/.rustup. */
function rustupHome(cargoBin: string, homes: string[], host: Host): string | null {
  const beside = parent(parent(cargoBin));
  const candidates = [`${beside}/.rustup`, `${beside}/rustup`, ...homes.map((h) => `${h}/.rustup`)];
  return candidates.find((c) => host.stat(`${c}/settings.toml`)?.isFile || host.stat(`${c}/toolchains`)?.isDir) ?? null;
}

/** `<prefix>` for `<prefix>/bin` when it is a runtime's install prefix. */
function runtimePrefixOf(dir: string, homes: string[], host: Host): string | null {
  if (!dir.endsWith('/bin')) return null;
  const prefix = parent(dir);
  const home = homes.find((h) => isWithin(prefix, h) && prefix !== h);
  if (!home) return null;
  const depth = prefix.slice(home.length + 1).split('/').length;
  if (host.stat(`${prefix}/conda-meta`)?.isDir) return prefix;
  return depth >= 2 && host.stat(`${prefix}/lib`)?.isDir ? prefix : null;
}

/** A prefix, and when it is a venv, the prefix of the python it was made
 *  from if that lies under $HOME too (a pyenv version). */
function withVenvBase(prefix: string, homes: string[], host: Host): string[] {
  if (!host.stat(`${prefix}/pyvenv.cfg`)?.isFile) return [prefix];
  const python = host.realpath(`${prefix}/bin/python`) ?? host.realpath(`${prefix}/bin/python3`);
  if (!python || isWithin(python, prefix) || !homes.some((h) => isWithin(python, h))) return [prefix];
  const base = runtimePrefixOf(parent(python), homes, host);
  return [prefix, base ?? python];
}

function parent(p: string): string {
  return p.slice(0, p.lastIndexOf('/')) || '/';
}

/** First of each path; none inside a directory already granted. */
function dedupe(grants: PathGrant[]): PathGrant[] {
  const dirs = grants.filter((g) => g.isDir);
  return grants.filter((g, i) => {
    if (grants.findIndex((h) => h.path === g.path) !== i) return false;
    return !dirs.some((d) => d.path !== g.path && isWithin(g.path, d.path));
  });
}

/** The last word: never $HOME or above it, nothing covering or inside a secret. */
function safe(grants: PathGrant[], homes: string[]): PathGrant[] {
  const secrets = homes.flatMap((h) => HOME_SECRETS.map((s) => `${h}/${s}`));
  return grants.filter(
    (g) => !homes.some((h) => isWithin(h, g.path)) && !secrets.some((s) => isWithin(s, g.path) || isWithin(g.path, s)),
  );
}
