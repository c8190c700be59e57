/**
 * One request → everything the run is made of, decided before anything is
 * written: the profile with the flags on top, the policy (system base,
 * grants, the command, the private TMPDIR and the sanitised config copies
 * in it), the environment, and the files to write. Pure: it reads through
 * the Host and writes nothing, so `--print-policy` prints exactly the plan
 * that would run, and compile() comes next, then the disk, then exec.
 */
import { PolicyError } from '../errors.js';
import { printable } from '../text.js';
import { npmCacheOf, userConfigCopies } from '../tmpdir/copies.js';
import { gitConfigSecrets } from '../tmpdir/userconfig.js';
import { buildPolicy } from './build.js';
import { resolveCommand, runtimePrefix, withCommand, type ResolvedCommand } from './command.js';
import { RESERVED } from './config/load.js';
import { findProjectRoot, loadConfig, mergeOptions, resolveProfile, type ConfigContext, type LoadedConfig } from './config.js';
import { filterEnv } from './env.js';
import { lookOnce, type Host } from './host.js';
import type { PathGrant, Policy } from './model.js';
import type { JailOptions } from './options.js';
import { grantOf, isWithin, resolveReal } from './paths.js';
import { offlineNpm, proxyUrl, withEgress } from './egress.js';
import { defaultGitGlobals, withProtections } from './protect.js';
import { secretEnv, withSecrets } from './inject.js';
import { withSshAgent } from './sshagent.js';
import { hostSockets } from './sockets.js';

type Env = Record<string, string | undefined>;

export interface JailRequest {
  /** The options given (flags or the API); a profile's go underneath. */
  options: JailOptions;
  /** The command and its arguments. */
  argv: string[];
  /** The invoking environment. */
  env: Env;
  /** The profile to use when none is named and no path is given: the CLI
   *  uses `default`; the API none at all. */
  implicitProfile?: string;
  /** The project's root when the caller knows it (jail-sh: a dependency's
   *  own package directory); else searched for upwards from the cwd. */
  projectRoot?: string;
  /** The node running jail (for the built-ins' {nodePrefix}). */
  nodeExecPath: string;
  /** --allow-host: the egress proxy's port, asked for only when a host is
   *  allowed (a run starts listening then); not one of `avoid`, the ports
   *  the namespace layer takes for itself. Without it, 0 (no run). */
  egressPort?: (avoid: number[]) => number;
  /** --secret: n random bytes, for the placeholders. Without it (--print-
   *  policy) a placeholder has the value's shape, its random part zeros. */
  randomBytes?: (n: number) => Uint8Array;
  /** Whether the kernel facts offer the namespace layer (prepare() passes
   *  the probe's answer). Then, unless the policy turns the layer off, the
   *  listings around hidden paths hold only what that layer needs (the
   *  directories on the way down), not every entry beside them, which only
   *  the Landlock layer needs (protect.ts, listingsFor). */
  namespacesOk?: boolean;
}

export interface Assembled {
  /** The options after the profile: what built the policy. */
  options: JailOptions;
  /** The profile and what it extends, lowest first; empty without one. */
  profileChain: string[];
  policy: Policy;
  command: ResolvedCommand;
  /** The jailed program's environment. */
  env: Record<string, string>;
  /** Variables left out (names only). */
  droppedEnv: string[];
  /** The private TMPDIR to make, 0700; null without one. */
  tmpDir: string | null;
  /** Files to write into it (0600). */
  files: Array<{ name: string; text: string }>;
  /** What the user should know before the command runs. */
  warnings: string[];
}

/** The reserved profile: nothing but the system base and the command. */
export const NO_PROFILE = RESERVED;

export function assemble(req: JailRequest, realHost: Host): Assembled {
  const host = lookOnce(realHost);
  const { options: given } = req;
  const named = given.profile ?? (given.ro?.length || given.rw?.length ? undefined : req.implicitProfile);
  let options: JailOptions = given;
  let profileChain: string[] = [];
  let config: LoadedConfig | null = null;
  if (named !== undefined && named !== NO_PROFILE) {
    config = loadConfig(configContext(host, req));
    const r = resolveProfile(config, named);
    options = mergeOptions(r.options as JailOptions, given);
    profileChain = r.chain;
  }
  const projectRoot = () => config?.projectRoot ?? req.projectRoot ?? findProjectRoot(host);
  let policy = buildPolicy(options, host, {
    ...(options.toolchains && { projectRoot: projectRoot() }),
    ...(options.npmCache && { npmCache: npmCacheOf(host, req.env, projectRoot()) }),
  });
  const command = resolveCommand(req.argv[0]!, host);
  policy = withCommand(policy, command, host);
  policy = { ...policy, grants: [...policy.grants, ...nestedSelf(host, projectRoot())] };
  const secrets = withSecrets(policy, options.secret ?? [], new Set(given.secret ?? []), req.env, req.randomBytes);
  policy = secrets.policy;
  const { env, dropped } = filterEnv(req.env, policy.env);
  const hosts = policy.net.hosts;
  const egressPort = hosts.length ? (req.egressPort?.([53, ...hosts.map((h) => h.port)]) ?? 0) : 0;

  let tmpDir: string | null = null;
  let files: Assembled['files'] = [];
  if (policy.privateTmp) {
    tmpDir = `${host.tmpdir === '/' ? '' : host.tmpdir}/${host.tempName()}`;
    const copies = userConfigCopies(host, req.env, tmpDir, hosts.length ? proxyUrl(egressPort) : undefined, projectRoot());
    policy = {
      ...policy,
      grants: [...policy.grants, { path: tmpDir, access: 'rw', isDir: true, source: { kind: 'jail', what: 'private TMPDIR' } }, ...copies.grants],
      overlays: copies.overlays,
    };
    env.TMPDIR = env.TMP = env.TEMP = tmpDir;
    Object.assign(env, copies.env);
    files = copies.files;
    dropped.push(...secretEnv(policy, env, tmpDir, req.env));
  }
  if (policy.npmCache) {
    // The cache's private layer: beside the TMPDIR, named like it so that a
    // later run sweeps it away if this one is killed; never in the view.
    policy = { ...policy, npmCache: { ...policy.npmCache, layerDir: `${host.tmpdir === '/' ? '' : host.tmpdir}/${host.tempName()}` } };
  }
  offlineNpm(policy, env);
  if (hosts.length) {
    const e = withEgress(policy, env, tmpDir, egressPort, host);
    policy = e.policy;
    files = [...files, ...e.files];
  }
  const agent = withSshAgent(policy, options, env, req.env, tmpDir, host);
  policy = agent.policy;
  policy = withProtections(policy, options, host, projectRoot(), defaultGitGlobals(host, req.env), req.namespacesOk === true && policy.namespaces !== 'off');
  refuseWritableSelf(policy, host);
  const sockets = hostSockets(policy, host);
  if (sockets.length) policy = { ...policy, hostSockets: sockets };
  const warnings = [...secrets.notes, ...gitCredentialsWarning(policy, host, projectRoot), ...agent.warnings];
  if (policy.egress && policy.egress.resolvConf === null) {
    warnings.push(
      `--allow-host: jail cannot show its own resolv.conf here (${tmpDir === null ? 'no private TMPDIR (--no-private-tmp)' : '/etc/resolv.conf is not in the view'}), so only programs that use the proxy variables reach the allowed hosts; name lookups inside fail.`,
    );
  }
  return { options, profileChain, policy, command, env, droppedEnv: dropped, tmpDir, files, warnings };
}

/** What jail needs to run: its launchers, its code, the addon and its loader. */
const RUNTIME = ['bin', 'dist', 'package.json', 'build/Release', 'prebuilds', 'node_modules/node-gyp-build'];

/**
 * A folder install (`npm install ../jail`): node_modules/jail links to a
 * checkout outside the project, and a script that runs `jail` in the jail
 * (`jail --ro . -- npm test`) finds it unreadable, "Permission denied".
 * When the link leads to this jail, its runtime is granted read-only: its
 * code is no secret, a jail inside only narrows, and refuseWritableSelf
 * keeps any grant of it from being writable.
 */
function nestedSelf(host: Host, projectRoot: string): PathGrant[] {
  const root = host.realpath(projectRoot) ?? projectRoot;
  const pkg = host.realpath(`${root === '/' ? '' : root}/node_modules/jail`);
  if (pkg === null || isWithin(pkg, root) || !host.self.includes(pkg)) return [];
  const grants: PathGrant[] = [];
  for (const part of RUNTIME) {
    const r = resolveReal(`${pkg}/${part}`, host);
    // Only what stays inside the package: a link in it leads nowhere else.
    if (r && isWithin(r.real, pkg)) grants.push(grantOf(r, 'ro', { kind: 'jail', what: 'jail itself, linked from node_modules/jail (a folder install), so scripts can run jail' }));
  }
  return grants;
}

/**
 * The project's git config, when the command may read it: CI checkouts
 * leave credentials there (actions/checkout's http.extraheader, a token in
 * the remote's URL), and Landlock cannot hide one file inside a granted
 * tree. Named, never shown.
 */
function gitCredentialsWarning(policy: Policy, host: Host, projectRoot: () => string): string[] {
  const root = projectRoot();
  let gitDir = `${root === '/' ? '' : root}/.git`;
  const st = host.stat(gitDir, true);
  if (st?.isFile) {
    // A worktree or submodule: `.git` is a file saying where the repository is.
    const m = /^gitdir: (.+)$/m.exec(readSafely(gitDir, host) ?? '');
    if (!m) return [];
    gitDir = m[1]!.startsWith('/') ? m[1]! : `${root}/${m[1]}`;
  } else if (!st?.isDir) return [];
  const keys: string[] = [];
  for (const name of ['config', 'config.worktree']) {
    const file = `${gitDir}/${name}`;
    if (!policy.grants.some((g) => g.access !== 'list' && isWithin(file, g.path))) continue;
    const text = readSafely(file, host);
    if (text !== null) keys.push(...gitConfigSecrets(text));
  }
  if (keys.length === 0) return [];
  return [
    `${printable(gitDir)}/config holds credentials the jailed command can read: ${keys.map((k) => printable(k)).join(', ')}.\n` +
      '  hint: remove them with `git config --local --unset-all NAME` (`git config --local --list --name-only` shows the names), ' +
      'or set the remote\'s URL without them; in CI, check out with persist-credentials: false.',
  ];
}

function readSafely(p: string, host: Host): string | null {
  try {
    return host.readText(p, { follow: false, max: 1 << 20 });
  } catch {
    return null;
  }
}

/** What the config layers need to know about this machine and run. */
export function configContext(host: Host, req: Pick<JailRequest, 'env' | 'projectRoot' | 'nodeExecPath'>): ConfigContext {
  const node = host.realpath(req.nodeExecPath) ?? req.nodeExecPath;
  return {
    host,
    xdgConfigHome: req.env.XDG_CONFIG_HOME || undefined,
    // A node under ~/.local/bin has no prefix of its own to grant (that
    // would be ~/.local, keyrings and all): then only the binary.
    nodePrefix: runtimePrefix(node, host) ?? node,
    npmCache: npmCacheOf(host, req.env, req.projectRoot ?? findProjectRoot(host)),
    ...(req.projectRoot !== undefined && { projectRoot: req.projectRoot }),
  };
}

/**
 * jail must never run its own code from a tree the command may write: a
 * postinstall under `-p npm-install` rewriting node_modules/jail/dist would
 * leave every later "jailed" run unconfined. Refused, not warned about.
 */
function refuseWritableSelf(policy: Policy, host: Host): void {
  // A grant inside one of them counts too (`--rw node_modules/jail/dist/cli.js`),
  // but not inside the package directory elsewhere (a checkout's src/):
  // the package is the self path that holds another's bin/ or dist/.
  const isPackage = (s: string) => host.self.includes(`${s}/dist`) || host.self.includes(`${s}/bin`);
  for (const g of policy.grants) {
    if (g.access !== 'rw') continue;
    const self = host.self.find((s) => isWithin(s, g.path)) ?? host.self.find((s) => !isPackage(s) && isWithin(g.path, s));
    if (self === undefined) continue;
    throw new PolicyError(
      `${printable(self)} is part of jail itself, and the grant ${printable(g.path)} (read-write) would let the command rewrite it: every later jailed run could be unconfined.`,
      `install jail where the command cannot write (npm install -g jail, with a prefix outside the project), and run that; or grant a narrower tree.`,
    );
  }
}
