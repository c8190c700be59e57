import { printable } from '../text.js';
import { CommandError } from '../errors.js';
import { systemAliases } from './base.js';
import type { Host } from './host.js';
import type { PathGrant, Policy } from './model.js';
import { absolute, aliasAt, grantOf, isWithin, resolveReal } from './paths.js';

export interface ResolvedCommand {
  /** What execve gets: absolute. */
  file: string;
  /** The executable and its interpreters, realpaths, outermost first. */
  chain: string[];
}

/**
 * Find the command as execvp does: a name with a slash is taken as is; a
 * bare name is searched on PATH, skipping entries that exist but cannot be
 * executed, and reporting "permission denied" only when nothing runnable
 * was found (126), "command not found" when nothing was found (127).
 */
export function findCommand(name: string, host: Host, pathVar = host.path): string {
  if (name === '') throw new CommandError(`jail: '': command not found`, 127);
  if (name.includes('/')) {
    const abs = absolute(name, host);
    const st = host.stat(abs);
    if (!st) throw new CommandError(`jail: ${printable(name)}: No such file or directory`, 127);
    if (st.isDir) throw new CommandError(`jail: ${printable(name)}: Is a directory`, 126);
    if (!host.executable(abs)) throw new CommandError(`jail: ${printable(name)}: Permission denied`, 126);
    return abs;
  }
  let denied: string | null = null;
  for (const dir of pathVar.split(':')) {
    const candidate = absolute((dir === '' ? '.' : dir) + '/' + name, host);
    const st = statOnPath(candidate, host);
    if (!st || st.isDir) continue;
    if (host.executable(candidate)) return candidate;
    denied ??= candidate;
  }
  if (denied) throw new CommandError(`jail: ${printable(name)}: Permission denied`, 126);
  throw new CommandError(`jail: ${printable(name)}: command not found`, 127);
}

/**
 * stat() of a PATH candidate, null where the search cannot look: an entry
 * this user may not enter (root's ~/.cargo/bin for nobody), one that is a
 * file (ENOTDIR) or a symlink loop (ELOOP). sh skips such entries and goes
 * on, and so does jail.
 */
export function statOnPath(p: string, host: Host): ReturnType<Host['stat']> {
  try {
    return host.stat(p);
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === 'EACCES' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return null;
    throw e;
  }
}

const MAX_DEPTH = 4; // the kernel allows 4 levels of interpreter too

/**
 * The executable and, for scripts, the interpreter chain: `#!/bin/sh`,
 * `#!/usr/bin/env node` (node looked up on PATH as env would).
 */
export function resolveCommand(name: string, host: Host): ResolvedCommand {
  const file = findCommand(name, host);
  const chain: string[] = [];
  let current: string | null = file;
  for (let depth = 0; current && depth <= MAX_DEPTH; depth++) {
    const real = host.realpath(current) ?? current;
    if (chain.includes(real)) break;
    chain.push(real);
    current = interpreterOf(real, host);
  }
  return { file, chain };
}

/** The interpreter a script's `#!` line names, resolved; null for binaries. */
export function interpreterOf(file: string, host: Host): string | null {
  const head = host.readHead(file, 256);
  if (!head || !head.startsWith('#!')) return null;
  const line = head.slice(2).split('\n')[0]!.trim();
  const [interp, ...rest] = line.split(/[ \t]+/);
  if (!interp) return null;
  if (interp.endsWith('/env')) {
    // env [-S] [-i] [NAME=VALUE…] program: the first word that is neither an
    // option nor an assignment is the program, found on PATH.
    const words = rest.join(' ').split(/[ \t]+/).filter(Boolean);
    const prog = words.find((w) => !w.startsWith('-') && !w.includes('='));
    if (!prog) return interp;
    try {
      return findCommand(prog, host);
    } catch {
      return interp; // the script will fail as it would unjailed
    }
  }
  return interp;
}

/**
 * A runtime's install prefix: `<prefix>/bin/<exe>` where `<prefix>/lib`
 * exists too (node under ~/.nvm/versions/node/vX, python under
 * ~/.pyenv/versions/X). Never $HOME, an ancestor of it, or `/`: a bin/
 * directory straight under them (~/bin, ~/.cargo/bin) gets no prefix.
 */
export function runtimePrefix(exe: string, host: Host): string | null {
  const parts = exe.split('/');
  if (parts.length < 4 || parts[parts.length - 2] !== 'bin') return null;
  const prefix = parts.slice(0, -2).join('/');
  if (prefix === '' || isWithin(host.home, prefix)) return null;
  // ~/.local/bin would make ~/.local the prefix, with ~/.local/share
  // (keyrings and the like) in it: nothing straight under $HOME.
  if (prefix.slice(0, prefix.lastIndexOf('/')) === host.home.replace(/\/$/, '')) return null;
  const lib = host.stat(prefix + '/lib');
  return lib?.isDir ? prefix : null;
}

/** Grants for the command: each executable of the chain, and runtime prefixes. */
export function commandGrants(cmd: ResolvedCommand, host: Host): PathGrant[] {
  const grants: PathGrant[] = [];
  const add = (p: string, what: string) => {
    const r = resolveReal(p, host);
    if (r) grants.push(grantOf(r, 'ro', { kind: 'command', what }));
  };
  cmd.chain.forEach((exe, i) => {
    add(exe, i === 0 ? 'executable' : 'interpreter');
    const prefix = runtimePrefix(exe, host);
    if (prefix) add(prefix, `runtime of ${exe}`);
  });
  return grants;
}

/** The policy plus the command's executable, interpreters and runtimes. */
export function withCommand(policy: Policy, cmd: ResolvedCommand, host: Host): Policy {
  // The command as found on PATH may be a symlink (~/bin/cat → /bin/cat):
  // a view shows it there, as it is, so exec finds it.
  const alias = aliasAt(cmd.file, host);
  const grants = commandGrants(cmd, host);
  // The system's links into what the command's runtime grants (`/lib64 ->
  // usr/lib64`, where its ELF interpreter is named): with --no-system the
  // view would lack them, and exec would not find the loader, where
  // Landlock alone (the fallback) follows them to the granted target.
  const into = systemAliases(host).filter((a) => {
    const real = host.realpath(a.path);
    return real !== null && grants.some((g) => g.isDir && isWithin(real, g.path));
  });
  const aliases = [...policy.aliases];
  for (const a of [...(alias ? [alias] : []), ...into]) if (!aliases.some((b) => b.path === a.path)) aliases.push(a);
  return { ...policy, grants: [...policy.grants, ...grants], aliases };
}
