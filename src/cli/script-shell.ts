/**
 * jail-sh: npm's script-shell. npm runs `<script-shell> -c '<script>'` in
 * the package's directory with npm_lifecycle_event set. Install-time scripts
 * of dependencies (the supply-chain threat) run with the npm-install
 * profile; the project's own scripts with the profile of the same name when
 * there is one, else the default profile.
 */

import type { Host } from '../policy/host.js';
import { isWithin, normalize } from '../policy/paths.js';

/** The events npm runs when a package is installed. */
const INSTALL_EVENTS = new Set(['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare']);

/** Which profile a script gets. `hasProfile` asks the config. */
export function profileForScript(event: string | undefined, cwd: string, hasProfile: (name: string) => boolean): string {
  if (dependencyRoot(cwd) !== null) return INSTALL_EVENTS.has(event ?? '') ? 'npm-install' : 'default';
  return event && hasProfile(event) ? event : 'default';
}

/**
 * A dependency's own package directory, from the path npm runs its scripts
 * in: `…/node_modules/<name>` or `…/node_modules/@scope/<name>`, the last
 * node_modules in the path. null for a path outside any node_modules (the
 * project's own scripts). Taken from the path alone: nothing the package
 * can rename or rewrite steers it.
 */
export function dependencyRoot(cwd: string): string | null {
  const parts = cwd.split('/');
  const at = parts.lastIndexOf('node_modules');
  if (at < 0 || at === parts.length - 1) return null;
  const scoped = parts[at + 1]!.startsWith('@') && at + 2 < parts.length;
  return parts.slice(0, at + (scoped ? 3 : 2)).join('/');
}

/**
 * The bins a package names (package.json `bin` and `directories.bin`) that
 * resolve outside the package, with where they lead. npm links them, and
 * chmods their targets, outside the jail.
 */
export function binsOutside(pkgDir: string, host: Host): Array<{ bin: string; target: string }> {
  const root = host.realpath(pkgDir);
  if (root === null) return [];
  const text = host.readText(`${root}/package.json`, { follow: false });
  let pkg: unknown;
  try {
    pkg = text === null ? null : JSON.parse(text);
  } catch {
    return []; // npm fails on it too
  }
  if (typeof pkg !== 'object' || pkg === null) return [];
  const { bin, directories } = pkg as { bin?: unknown; directories?: { bin?: unknown } };
  const bins = typeof bin === 'string' ? [bin] : typeof bin === 'object' && bin !== null ? Object.values(bin).filter((b): b is string => typeof b === 'string') : [];
  if (typeof directories?.bin === 'string') {
    const dir = `${root}/${directories.bin}`;
    for (const e of host.readdir(dir)) bins.push(`${directories.bin}/${e.name}`);
    bins.push(directories.bin);
  }
  const out: Array<{ bin: string; target: string }> = [];
  for (const b of bins) {
    // npm keeps bin paths inside the package lexically; a link may not.
    const target = host.realpath(normalize(`${root}/${normalize('/' + b)}`));
    if (target !== null && !isWithin(target, root)) out.push({ bin: b, target });
  }
  return out;
}
