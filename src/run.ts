/**
 * A jailed run, end to end: the side-effectful shell around the pure core.
 * prepare() reads the machine (paths, the command, the kernel) and makes the
 * private TMPDIR; then the run either execs in place (no supervisor needed)
 * or forks under a supervisor that cleans up and passes the status on.
 */
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { realHost } from './host.js';
import { execInPlace, probe, removeTree, reraise, spawnSupervised, type ExecTarget, type ProbeResult } from './native/apply.js';
import { compile, type JailPlan } from './plan.js';
import { buildPolicy, type JailOptions } from './policy/build.js';
import { resolveCommand, withCommand, type ResolvedCommand } from './policy/command.js';
import { filterEnv } from './policy/env.js';
import type { Host } from './policy/host.js';
import type { PathGrant, Policy } from './policy/model.js';
import { sanitizeGitconfig, sanitizeNpmrc } from './policy/userconfig.js';

export interface RunRequest {
  options: JailOptions;
  /** The command and its arguments. */
  argv: string[];
  bestEffort?: boolean;
  /** The invoking environment (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Use at most this Landlock ABI (tests). */
  abiCap?: number;
  /** Build everything but create nothing (--print-policy). */
  dryRun?: boolean;
}

export interface Prepared {
  policy: Policy;
  command: ResolvedCommand;
  plan: JailPlan;
  target: ExecTarget;
  /** Variables left out of the environment (names only). */
  droppedEnv: string[];
  /** The private TMPDIR, removed after the run. */
  tmpDir: string | null;
}

/** Policy, command and kernel facts → a plan ready to apply. */
export function prepare(req: RunRequest, facts: ProbeResult = probe(req.abiCap), host: Host = realHost(req.env)): Prepared {
  let policy = buildPolicy(req.options, host);
  const command = resolveCommand(req.argv[0]!, host);
  policy = withCommand(policy, command, host);
  const { env, dropped } = filterEnv(req.env ?? process.env, policy.env);

  let tmpDir: string | null = null;
  if (policy.privateTmp) {
    const parent = host.realpath(os.tmpdir()) ?? os.tmpdir();
    tmpDir = req.dryRun ? path.join(parent, 'jail-XXXXXX') : fs.mkdtempSync(path.join(parent, 'jail-'));
    policy = { ...policy, grants: [...policy.grants, { path: tmpDir, access: 'rw', isDir: true, source: { kind: 'jail', what: 'private TMPDIR' } }] };
    env.TMPDIR = env.TMP = env.TEMP = tmpDir;
    if (!req.dryRun) {
      const copies = userConfigCopies(host, req.env ?? process.env, tmpDir);
      Object.assign(env, copies.env);
      policy = { ...policy, grants: [...policy.grants, ...copies.grants] };
    }
  }
  try {
    const plan = compile(policy, facts, { bestEffort: req.bestEffort });
    return { policy, command, plan, target: { file: command.file, argv: req.argv, env }, droppedEnv: dropped, tmpDir };
  } catch (e) {
    if (tmpDir && !req.dryRun) cleanup(tmpDir);
    throw e;
  }
}

/**
 * The user's npm and git config, credentials taken out, in the private
 * TMPDIR: the real files stay hidden (their tokens with them), while npm
 * keeps its registry, nodedir and cafile, and git its name and email (git
 * treats an unreadable ~/.gitconfig as fatal). Returns the variables that
 * point the tools at the copies, and read grants for the files the kept
 * settings name (a cafile under $HOME), without which the tools fail.
 */
function userConfigCopies(host: Host, env: NodeJS.ProcessEnv, tmpDir: string): { env: Record<string, string>; grants: PathGrant[] } {
  const read = (p: string) => {
    try {
      return fs.readFileSync(p, 'utf8');
    } catch {
      return null;
    }
  };
  const home = (p: string) => (p === '~' || p.startsWith('~/') ? host.home + p.slice(1) : p);
  const out: Record<string, string> = {};
  const grants: PathGrant[] = [];
  const grantFiles = (files: Array<{ key: string; path: string }>, except: string[] = []) => {
    for (const f of files) {
      if (except.includes(f.key.toLowerCase())) continue;
      const real = host.realpath(home(f.path));
      const st = real ? host.stat(real) : null;
      if (real && st?.isFile) grants.push({ path: real, access: 'ro', isDir: false, source: { kind: 'jail', what: `named by ${f.key} in your config` } });
    }
  };

  const npmrc = read(env.NPM_CONFIG_USERCONFIG ?? env.npm_config_userconfig ?? path.join(host.home, '.npmrc'));
  if (npmrc !== null) {
    const s = sanitizeNpmrc(npmrc);
    fs.writeFileSync(path.join(tmpDir, 'npmrc'), s.text, { mode: 0o600 });
    out.NPM_CONFIG_USERCONFIG = out.npm_config_userconfig = path.join(tmpDir, 'npmrc');
    grantFiles(s.files);
  }

  // git reads $XDG_CONFIG_HOME/git/config, then ~/.gitconfig (which wins).
  const gitDir = path.join(env.XDG_CONFIG_HOME || path.join(host.home, '.config'), 'git');
  const texts = [read(path.join(gitDir, 'config')), read(env.GIT_CONFIG_GLOBAL ?? path.join(host.home, '.gitconfig'))].filter((t): t is string => t !== null);
  if (texts.length) {
    const s = sanitizeGitconfig(texts.join('\n'));
    let text = s.text;
    // git dies on an exclude file it cannot read, the default one too:
    // copy it, and point the copy of the config at it (a later value wins).
    const excludes = [...s.files].reverse().find((f) => f.key.toLowerCase() === 'core.excludesfile');
    const ignore = read(excludes ? home(excludes.path) : path.join(gitDir, 'ignore'));
    if (ignore !== null) {
      fs.writeFileSync(path.join(tmpDir, 'gitignore'), ignore, { mode: 0o600 });
      text += `\n[core]\n\texcludesFile = ${path.join(tmpDir, 'gitignore')}\n`;
    }
    fs.writeFileSync(path.join(tmpDir, 'gitconfig'), text, { mode: 0o600 });
    out.GIT_CONFIG_GLOBAL = path.join(tmpDir, 'gitconfig');
    grantFiles(s.files, ['core.excludesfile']);
  }
  return { env: out, grants };
}

/** Whether the run needs a parent outside the jail. */
export function needsSupervisor(p: Prepared): boolean {
  return p.tmpDir !== null;
}

/**
 * Run a prepared plan. In place: this process becomes the command (never
 * returns). Supervised: returns the exit status to use; when the command
 * died of a signal, this process dies of it too, after cleaning up. The
 * supervisor ends everything the command left running before the cleanup,
 * so it must run in a process with no other children (the jail CLI).
 */
export function runPrepared(p: Prepared): number {
  if (!needsSupervisor(p)) execInPlace(p.plan, p.target);
  let result;
  try {
    result = spawnSupervised(p.plan, p.target);
  } finally {
    if (p.tmpDir) cleanup(p.tmpDir);
  }
  if (result.signal !== null) {
    reraise(result.signal);
    return 128 + result.signal; // a signal whose default is to ignore
  }
  return result.code ?? 125;
}

/** Remove the private TMPDIR. Never throws: a cleanup problem is one
 *  warning, and the status stays the command's. */
function cleanup(dir: string): void {
  const why = removeTree(dir);
  if (why) process.stderr.write(`jail: warning: could not remove TMPDIR ${dir}: ${why}\n`);
}
