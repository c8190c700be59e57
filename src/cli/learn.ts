/**
 * `jail learn [options] [--save NAME [--force]] -- CMD [ARGS]`: run CMD
 * under learn.ts's broad policy with the observer on, then print the
 * profile made from what it touched (JSON on stdout, a summary on stderr)
 * and, with --save, write it into a config file. Exit status: the
 * command's, as a run's.
 *
 * Where --save writes: the project's config (jail.config.json, or
 * package.json's "jail" key when that is the project's config) when the
 * profile holds only what a project's config may (paths inside the
 * project, options that narrow); else the user's config, with absolute
 * paths, saying why. An existing profile of that name is replaced only
 * with --force; a built-in's name is refused (layers merge: it would not
 * be what was learnt).
 */
import fs = require('node:fs');
import { Command } from 'commander';
import { observedPaths } from '../denials.js';
import { PolicyError } from '../errors.js';
import { realHost } from '../host.js';
import { homeWithoutSecrets, learnFrom, LEARN_SOURCE, notForProject, profileJson, tildeOf, type Learnt, type Target } from '../learn.js';
import { configContext } from '../policy/assemble.js';
import { loadConfig, resolveProfile } from '../policy/config.js';
import { RESERVED } from '../policy/config/load.js';
import { PROJECT_CONFIG } from '../policy/config/types.js';
import type { Host } from '../policy/host.js';
import { OPTIONS, type JailOptions, type OptionName, type ProfileJson } from '../policy/options.js';
import { absolute, isWithin, normalize, type PathEntry } from '../policy/paths.js';
import { BUILTIN_PROFILES } from '../policy/profiles.js';
import type { Observed, Prepared } from '../run.js';
import { npmCacheOf } from '../tmpdir/copies.js';
import { printable, printableLines, shellWord } from '../text.js';
import { addOptions, parseOrStatus, typedOptions } from './options.js';

/** What main() lends learn: preparing and running as a plain run does
 *  (the probe, the egress proxy's port, the services). */
export interface LearnRunner {
  prepare(options: JailOptions, argv: string[], projectRoot: string): Prepared;
  execute(p: Prepared, onObserved: (o: Observed) => void): number | Promise<number>;
}

export function learnCommand(): Command {
  return addOptions(
    new Command('jail learn')
      .usage('[options] [--save NAME [--force]] -- <command> [args...]')
      .description(
        "Run the command under a broad policy (the project read-write, $HOME read-only without its credentials, npm's cache, the toolchains; " +
          'no network unless your flags give it), record what it touched, and print a profile that grants that: JSON on stdout. ' +
          'Never learnt: $HOME, /, credentials, .env files; what the broad policy refused is suggested, not granted.',
      )
      .argument('[command...]', 'the command to learn, with its arguments'),
  )
    .option('--save <name>', "write the profile as NAME into the project's jail.config.json (or your user config when it grants paths outside the project)")
    .option('--force', '--save replaces a profile of that name')
    .passThroughOptions()
    .addHelpText('after', '\nThen: jail -p NAME -- <command> runs it with what was learnt.\nExample: jail learn --save build -- npm run build');
}

export function learnMain(argv: string[], runner: LearnRunner): number | Promise<number> {
  const cmd = learnCommand();
  const parsed = parseOrStatus(cmd, argv);
  if (parsed !== null) return parsed;
  const { printPolicy, json, verbose: _v, ...given } = typedOptions(cmd);
  const o = cmd.opts<{ save?: string; force?: boolean }>();
  if (printPolicy || json) throw new PolicyError('jail learn prints a profile, not the policy.', 'drop --print-policy and --json.');
  if (given.profile !== undefined) throw new PolicyError('jail learn starts from its own broad policy, not a profile.', 'drop -p; other flags (--ro, --allow-host …) add to the broad policy and go into the profile.');
  if (o.force && o.save === undefined) throw new PolicyError('--force is for --save.', 'add --save NAME, or drop --force.');
  const args = cmd.args;
  if (args.length === 0) throw new PolicyError('learn: no command given.', 'write the command after the options, e.g. jail learn -- npm test');

  const host = realHost();
  const config = loadConfig(configContext(host, { env: process.env, nodeExecPath: process.execPath }));
  const projectRoot = config.projectRoot;
  const home = normalize(host.home);
  if (isWithin(home, normalize(host.realpath(projectRoot) ?? projectRoot)) || isWithin(home, projectRoot)) {
    throw new PolicyError(`jail learn: the project root ${projectRoot} holds your home directory; the broad policy would let the command write all of it.`, 'run jail learn inside a project (a directory with package.json or jail.config.json).');
  }
  if (o.save !== undefined) checkName(o.save, config, Boolean(o.force));

  const npmCache = normalize(npmCacheOf(host, process.env, projectRoot));
  const broad = homeWithoutSecrets(host, [npmCache]);
  const options: JailOptions = {
    ...given,
    rw: [...(given.rw ?? []), projectRoot],
    ro: [...(given.ro ?? []), ...broad.grants.map((path): PathEntry => ({ path, from: LEARN_SOURCE }))],
    npmCache: true,
    toolchains: true,
    reportDenials: true,
  };
  const p = runner.prepare(options, args, projectRoot);
  say(
    `learn: broad policy: the system base; the project ${tildeOf(projectRoot, home)} read-write (default protections apply); ` +
      `$HOME read-only (${broad.grants.length} ${broad.grants.length === 1 ? "entry" : "entries"}) without its credentials${broad.leftOut.length ? ` (${shortList(broad.leftOut.map((l) => tildeOf(l, home)))} left out)` : ''}; ` +
      `npm's cache (--npm-cache); the toolchains on PATH; network: ${networkOf(p)}.`,
  );
  let observed: Observed | null = null;
  const after = (status: number): number => {
    if (observed === null) {
      say('learn: nothing was recorded (the observer needs seccomp), so no profile is made.');
      return status;
    }
    const o2 = observed;
    const learnt = learnFrom({
      host,
      plan: o2.plan,
      policy: p.policy,
      calls: observedPaths(host, o2.calls, o2.nameOf),
      projectRoot,
      npmCache,
      tmpDir: p.tmpDir,
    });
    const ctx = { home, projectRoot, argv: args, given: givenJson(given, host) };
    const forProject = profileJson(learnt, ctx, 'project');
    const why = notForProject(forProject);
    const target: Target = why.length ? 'user' : 'project';
    const profile = target === 'project' ? forProject : profileJson(learnt, ctx, 'user');
    process.stdout.write(JSON.stringify(profile, null, 2) + '\n');
    summarise(learnt, status, home, o2.dropped);
    if (o.save !== undefined) {
      if (status !== 0) say(`learn: not saved: the command failed (status ${status}), so what it touched may not be all it needs.`);
      else save(o.save, profile, target, why, config.projectFile, projectRoot, config.userConfigPath, Boolean(o.force), host, args);
    }
    return status;
  };
  const status = runner.execute(p, (x) => (observed = x));
  return typeof status === 'number' ? after(status) : status.then(after);
}

function say(line: string): void {
  process.stderr.write(printableLines(`jail: ${line}\n`));
}

function shortList(xs: string[], n = 4): string {
  return xs.length > n ? `${xs.slice(0, n).join(', ')} and ${xs.length - n} more` : xs.join(', ');
}

function networkOf(p: Prepared): string {
  const net = p.policy.net;
  if (net.mode === 'all') return 'all (--net all)';
  const parts = [...net.hosts.map((h) => `https to ${h.given}`), ...net.connect.map((c) => `tcp connect ${c.from === c.to ? c.from : `${c.from}-${c.to}`}`)];
  return parts.length ? parts.join(', ') : 'none';
}

/** The options the user gave that a profile holds, paths absolute. */
function givenJson(given: JailOptions, host: Host): ProfileJson {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given) as Array<[OptionName, unknown]>) {
    const spec = OPTIONS[key];
    if (!(spec.where as readonly string[]).includes('config') || value === undefined || key === 'reportDenials') continue;
    if (spec.kind === 'paths') {
      out[key] = (value as PathEntry[]).map((e) => {
        const g = typeof e === 'string' ? e : e.path;
        const optional = g.endsWith('?');
        return absolute(optional ? g.slice(0, -1) : g, host) + (optional ? '?' : '');
      });
    } else if (spec.kind === 'unix') {
      out[key] = (value as Array<string | true>).includes(true) ? true : (value as string[]).map((u) => absolute(u, host));
    } else out[key] = value;
  }
  return out as ProfileJson;
}

function summarise(l: Learnt, status: number, home: string, dropped: number): void {
  const t = (p: string) => tildeOf(p, home);
  const grants = [
    l.project !== 'none' && `the project ${l.project}`,
    l.home.length > 0 && `${l.home.map(t).join(', ')} ro`,
    l.npmCache && "npm's cache",
    l.toolchains && 'the toolchains',
  ].filter(Boolean);
  say(`learn: ${l.touched} path(s) touched; the profile grants ${grants.length ? grants.join('; ') : 'nothing beyond the system base'}${status !== 0 ? ` (the command exited ${status})` : ''}.`);
  for (const s of l.suggestions.slice(0, 10)) {
    say(`learn: denied in the learn run: ${s.access} ${s.paths.map((p) => printable(t(p))).join(', ')}; add ${printable(s.flag)} if it should ${s.access === 'read' || s.access === 'exec' ? 'read' : 'write'} there.`);
  }
  if (l.suggestions.length > 10) say(`learn: … and ${l.suggestions.length - 10} more denial(s).`);
  if (l.secrets.length) say(`learn: never learnt (credentials): ${shortList(l.secrets.map((p) => printable(t(p))))}.`);
  if (dropped) say(`learn: ${dropped} path call(s) went unrecorded (past the observer's bound): the profile may miss some paths.`);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function checkName(name: string, config: ReturnType<typeof loadConfig>, force: boolean): void {
  if (!NAME.test(name)) throw new PolicyError(`--save ${name}: not a profile name.`, 'use letters, digits, ".", "_" and "-", e.g. --save build.');
  if (name === RESERVED || Object.prototype.hasOwnProperty.call(BUILTIN_PROFILES, name)) {
    throw new PolicyError(`--save ${name}: "${name}" is a built-in profile; a profile of that name would be merged with it, not what was learnt.`, `choose another name, e.g. --save ${name}-learnt.`);
  }
  if (!force && config.profiles.has(name)) {
    const files = (config.profiles.get(name) ?? []).map((d) => d.file).filter(Boolean);
    throw new PolicyError(`--save ${name}: a profile "${name}" exists already (${files.join(', ')}).`, 'pass --force to replace it, or choose another name.');
  }
}

type Jsonc = typeof import('jsonc-parser');

/** Write the profile into its config file, keeping the file's comments and
 *  layout (jsonc-parser's modify), then load it back as a run would. */
function save(name: string, profile: ProfileJson, target: Target, why: string[], projectFile: string | null, projectRoot: string, userConfigPath: string, force: boolean, host: Host, args: string[]): void {
  const jsonc = require('jsonc-parser') as Jsonc;
  const inPackageJson = target === 'project' && projectFile !== null && projectFile.endsWith('/package.json');
  const file = target === 'user' ? userConfigPath : inPackageJson ? projectFile : `${projectRoot === '/' ? '' : projectRoot}/${PROJECT_CONFIG}`;
  // Only a regular file is edited: a config that is a symlink (planted by
  // the project, say to ~/.aws/credentials) would have its target's text
  // copied into the file written below.
  const st = fs.lstatSync(file, { throwIfNoEntry: false });
  if (st && !st.isFile()) throw new PolicyError(`--save ${name}: ${printable(file)} is not a regular file (a symlink?); jail edits only a regular config file.`, 'replace it with the file itself, or save under another config.');
  const text = st ? fs.readFileSync(file, 'utf8') : null;
  const at = inPackageJson ? ['jail', 'profiles', name] : ['profiles', name];
  const before = text ?? '{}\n';
  const tree = jsonc.parseTree(before);
  if (!force && tree && jsonc.findNodeAtLocation(tree, at)) throw new PolicyError(`--save ${name}: ${file} holds a profile "${name}" already.`, 'pass --force to replace it.');
  const edits = jsonc.modify(before, at, profile, { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } });
  const after = jsonc.applyEdits(before, edits);
  if (target === 'user') fs.mkdirSync(file.slice(0, file.lastIndexOf('/')), { recursive: true, mode: 0o700 });
  // A new file beside it, then rename: never written through a symlink.
  const tmp = `${file}.jail-learn-${process.pid}`;
  fs.writeFileSync(tmp, after.endsWith('\n') ? after : after + '\n', { mode: text === null ? 0o644 : fs.statSync(file).mode & 0o777, flag: 'wx' });
  fs.renameSync(tmp, file);
  // As a run will read it: a project's config under the project rule.
  resolveProfile(loadConfig(configContext(host, { env: process.env, nodeExecPath: process.execPath })), name);
  const where = target === 'user' ? `your user config ${tildeOf(file, host.home)}, since ${why.join('; ')} (a project's config may not hold that)` : file;
  say(`learn: saved profile "${name}" in ${where}.\n  use it: jail -p ${name} -- ${args.map(shellWord).join(' ')}`);
}
