/**
 * What runs later outside the jail, found in the trees the command may
 * write, and what it may not read, found in the trees it may read. Pure:
 * it looks through the Host and returns the policy's guards, hidden paths
 * and listings; the compilers decide how each layer enforces them (mounts
 * in the namespace layer, restoring after the run and split grants in the
 * fallback), src/protect restores.
 *
 * The defaults, and why each is there:
 * - every git repository in a writable tree: `.git` itself (renamed or
 *   replaced, it is another repository), its config and hooks, the names git
 *   reads that redirect them (`commondir`, `config.worktree`), the hooks
 *   directory `core.hooksPath` names, submodules' and linked worktrees'
 *   own; a new `.git` anywhere near the top (a nested repository that git,
 *   editors and prompts run);
 * - hook managers and settings that run commands: see RUNS_LATER;
 * - `.env` and `.env.*` (not `.example`, `.sample`, `.template`) are
 *   hidden in every tree the user grants.
 * The search goes down DEPTH directory levels below each granted tree,
 * leaving out node_modules; what lies deeper is not looked for, nor in `/`
 * or a tree holding $HOME (such a grant is everything).
 */
import { PolicyError } from '../errors.js';
import { printable } from '../text.js';
import type { Host } from './host.js';
import type { Guard, Hidden, Listing, PathGrant, Policy } from './model.js';
import type { JailOptions } from './options.js';
import { parentOf } from './config/load.js';
import { resolveNearest } from './config/project.js';
import { nameMatcher } from './names.js';
import { absolute, isWithin, normalize, type PathEntry } from './paths.js';

/** Names that hold commands something runs later, at any level searched.
 *  A name may hold `*` (any run of characters) and may be qualified by the
 *  directory it is in (`.config/mise.toml`); see names.ts. */
export const RUNS_LATER: ReadonlyArray<readonly [name: string, why: string]> = [
  ['.husky', 'husky git hooks'],
  ['lefthook.yml', 'lefthook git hooks'],
  ['.lefthook.yml', 'lefthook git hooks'],
  ['lefthook-local.yml', 'lefthook git hooks'],
  ['.lefthook-local.yml', 'lefthook git hooks'],
  ['.pre-commit-config.yaml', 'pre-commit git hooks'],
  ['.npmrc', 'npm settings (script-shell, node-options, git)'],
  ['.yarnrc', 'yarn settings'],
  ['.yarnrc.yml', 'yarn settings (yarnPath, plugins)'],
  // What .yarnrc.yml's yarnPath and plugins name: yarn itself, run at
  // every yarn command in the project, and its plugins.
  ['.yarn/releases', 'yarn itself (yarnPath: run at every yarn command)'],
  ['.yarn/plugins', 'yarn plugins (loaded at every yarn command)'],
  ['.pnpmfile.cjs', 'pnpm hooks (run at every pnpm install)'],
  ['.pnpmfile.mjs', 'pnpm hooks (run at every pnpm install)'],
  // pnpm 10 reads its settings here too: pnpmfile, scriptShell,
  // nodeOptions, which packages may run build scripts, configDependencies.
  ['pnpm-workspace.yaml', 'pnpm settings (pnpmfile, scriptShell, build scripts allowed)'],
  ['bunfig.toml', 'bun settings (preload scripts)'],
  ['.envrc', 'direnv runs it on cd'],
  // Every project config mise reads (its LOCAL_CONFIG_FILENAMES and, for
  // each MISE_ENV, the env patterns): hooks, tasks and env it runs on cd.
  ['mise.toml', 'mise hooks and tasks'],
  ['.mise.toml', 'mise hooks and tasks'],
  ['mise.*.toml', 'mise hooks and tasks (local or MISE_ENV config)'],
  ['.mise.*.toml', 'mise hooks and tasks (local or MISE_ENV config)'],
  ['.mise', 'mise hooks and tasks (.mise/config.toml, conf.d)'],
  ['mise/config.toml', 'mise hooks and tasks'],
  ['mise/config.*.toml', 'mise hooks and tasks (local or MISE_ENV config)'],
  ['.config/mise', 'mise hooks and tasks (.config/mise/config.toml, conf.d)'],
  ['.config/mise.toml', 'mise hooks and tasks'],
  ['.config/mise.*.toml', 'mise hooks and tasks (local or MISE_ENV config)'],
  ['.rtx.toml', 'mise hooks and tasks (rtx, its old name)'],
  ['.rtx.local.toml', 'mise hooks and tasks (rtx, its old name)'],
  // No trust asked: `TOOL path:./dir` puts ./dir/bin first on PATH on cd.
  ['.tool-versions', 'mise and asdf tool versions (path: puts a directory on PATH)'],
  ['.vscode', 'VS Code tasks, settings and MCP servers'],
  ['*.code-workspace', 'VS Code workspace settings and tasks'],
  ['.idea', 'JetBrains run configurations'],
  ['.zed', 'Zed tasks and settings'],
  ['.devcontainer', 'dev container commands (initializeCommand runs on the host)'],
  ['.devcontainer.json', 'dev container commands (initializeCommand runs on the host)'],
  ['.claude', 'Claude Code hooks and settings'],
  ['.mcp.json', 'MCP servers an agent starts'],
  ['.cursor', 'Cursor settings and MCP servers'],
  ['.codex', 'Codex settings'],
  ['.gemini', 'Gemini CLI settings and hooks'],
  ['.kiro', 'Kiro hooks'],
  ['.windsurf', 'Windsurf workflows'],
  ['.continue', 'Continue settings and MCP servers'],
  ['.roo', 'Roo Code MCP servers'],
  ['.opencode', 'OpenCode plugins (loaded at start), settings and MCP servers'],
  ['opencode.json', 'OpenCode plugins, settings and MCP servers'],
  ['opencode.jsonc', 'OpenCode plugins, settings and MCP servers'],
  ['.aider.conf.yml', 'aider lint and test commands'],
];

/** Directory levels searched below each granted tree (the tree is 0). */
export const DEPTH = 2;
/** Directories listed at most, in all; beyond, the search stops (and the
 *  after-run check for new names compares with a record made right before
 *  the run instead). */
const MAX_DIRS = 4000;

const LATER = new Map(RUNS_LATER.map(([n, w]) => [n, w]));
const LATER_NAMES = nameMatcher([...LATER.keys()]);
const ENV_FILE = /^\.env(\..+)?$/;
const ENV_TEMPLATE = /\.(example|sample|template)$/;

/** Whether a name is a dotenv file hidden by default. */
export function isEnvFile(name: string): boolean {
  return ENV_FILE.test(name) && !ENV_TEMPLATE.test(name);
}

/** The policy with its guards, hidden paths and listings. The trees
 *  searched are the user's: given as flags, in the user's or the project's
 *  config, and a built-in profile's inside the project (not the npm cache
 *  or node's prefix, which a built-in grants too). `partial`: listings with
 *  only what the namespace layer needs (see listingsFor). */
export function withProtections(policy: Policy, opts: JailOptions, host: Host, projectRoot?: string, gitGlobals: readonly string[] = defaultGitGlobals(host), partial = false): Policy {
  const userGrant = (g: PathGrant) =>
    g.source.kind === 'flag' ||
    (g.source.kind === 'config' && (!g.source.where.startsWith('built-in') || (projectRoot !== undefined && isWithin(g.path, projectRoot))));
  const writable = policy.grants.filter((g) => g.access === 'rw' && g.isDir && userGrant(g)).map((g) => g.path);
  const readable = policy.grants.filter((g) => (g.access === 'rw' || g.access === 'ro') && g.isDir && userGrant(g)).map((g) => g.path);
  // A grant naming a protected or hidden path exactly lifts that one: your
  // own (a flag, your config), never a project's, which may not
  // --unprotect or --unhide. A tree only the project makes writable is
  // guarded at its top too (`"rw": [".git/hooks"]`).
  const byProject = (g: PathGrant) => g.source.kind === 'config' && g.source.project !== undefined;
  const yours = policy.grants.filter((g) => userGrant(g) && !byProject(g));
  const projectOnly = (t: string) => !yours.some((g) => g.path === t && g.access === 'rw');
  const inWritable = (p: string) => writable.some((t) => isWithin(p, t) && (p !== t || projectOnly(t)));

  // `/` and trees that hold $HOME grant everything, and the kernel's own
  // file systems hold nothing to find: not searched (cheap start-up for
  // `--ro /`). But /dev/shm, where anyone may make a project.
  const kernels = (t: string) => isWithin(t, '/proc') || isWithin(t, '/sys') || (isWithin(t, '/dev') && !isWithin(t, '/dev/shm'));
  const searched = outermost(readable).filter((t) => t !== '/' && !isWithin(host.home, t) && !kernels(t));
  // A writable tree the walk from its searched root does not list (deeper
  // than DEPTH, or inside a .git or node_modules, which the walk passes
  // by) is searched from its own top too: what is there already is then
  // kept, and the scan after the run knows it was there (it is not a new
  // name to quarantine: `--ro . --rw a/b/c` with an a/b/c/.vscode).
  const unreached = outermost(writable).filter((t) => searched.some((r) => isWithin(t, r)) && !searched.some((r) => listed(t, r)));
  const found = search([...searched, ...unreached], host);
  const guards: Guard[] = [];
  const keep = (path: string, why: string) => keepGuards(guards, path, why, host);

  // Git repositories, and what their gitdirs hold.
  const gitdirs: string[] = [];
  const done = new Map<string, string[]>();
  // The user's own git config applies in every repository: a relative
  // core.hooksPath there names a directory in each worktree.
  const globalRunners = gitRunners(gitConfigs(gitGlobals, host));
  for (const dotgit of found.gits) {
    if (!inWritable(dotgit)) continue;
    const st = host.identify(dotgit);
    if (!st || st.isSymlink) continue;
    // A `.git` directory is pinned (git writes inside it); a `gitdir:` file
    // is kept whole: its one line says where the config and hooks are.
    if (st.isDir) guards.push({ mode: 'pin', path: dotgit, kind: 'dir', why: 'git repository', ...(st.dev !== undefined && { dev: st.dev, ino: st.ino }) });
    else keep(dotgit, 'git repository (gitdir: file)');
    const gitdir = st.isDir ? dotgit : gitdirOf(dotgit, host);
    if (gitdir === null) continue;
    // A linked worktree's gitdir names the common one, which holds the
    // config and hooks.
    const common = host.stat(`${gitdir}/commondir`, true)?.isFile ? commonOf(gitdir, host) : gitdir;
    if (common !== gitdir) {
      keep(`${gitdir}/commondir`, 'git reads it for its config and hooks');
      keep(`${gitdir}/config.worktree`, 'git config (worktree)');
    }
    if (common === null) continue;
    if (!done.has(common)) done.set(common, gitGuards(common, host, keep, guards, gitdirs));
    // What core.hooksPath and core.fsmonitor name, in any config git reads
    // here (a relative one is taken in this worktree).
    const worktree = parentOf(dotgit);
    for (const { value, why } of [...done.get(common)!.map((v) => ({ value: v, why: '' })), ...globalRunners.map((v) => ({ value: v, why: ' (your git config)' }))]) {
      const [key, v] = value.split('\0') as [string, string];
      const p = v.startsWith('/') ? normalize(v) : v.startsWith('~/') ? normalize(`${host.home}${v.slice(1)}`) : normalize(`${worktree}/${v}`);
      keep(p, `${key === 'hookspath' ? 'git hooks (core.hooksPath)' : 'git fsmonitor hook (core.fsmonitor)'}${why}`);
    }
  }
  // Hook managers and settings that exist now.
  for (const { path: p, why } of found.later) if (inWritable(p)) keep(p, why);
  // --ro inside a writable tree: kept as it is.
  for (const g of policy.grants) {
    if (g.access === 'ro' && userGrant(g) && inWritable(g.path)) keep(g.path, `${sourceFlag(g)} inside a writable tree`);
  }
  // New names: one scan per writable tree.
  for (const t of outermost(writable).filter((w) => searched.some((r) => isWithin(w, r)))) {
    const before = [...found.gits, ...found.later.map((l) => l.path), ...found.heads].filter((p) => isWithin(p, t));
    const reasons = { ...Object.fromEntries(LATER), '.git': 'a new git repository (git, editors and prompts run its config)', HEAD: 'a new bare git repository' };
    // A tree too big to search here (a run may leave one so): what was
    // there is recorded right before the command starts instead.
    const record = !found.complete && { record: true };
    guards.push({ mode: 'scan', path: t, depth: DEPTH + 1, names: ['.git', 'HEAD', ...LATER.keys()], before, gitdirs: [...new Set(gitdirs)], why: 'a new repository or hook setting', reasons, ...record });
  }

  // `--rw ./src --protect ./src`, `--ro .env --hide .env`: one command
  // line asking for both; the exact grant would win, silently.
  contradictions(opts, policy.grants, host);

  // Lifts: --unprotect PATH (and what is inside it); a --rw naming exactly
  // a protected path.
  const lifted = resolved(opts.unprotect, host, '--unprotect');
  const namedRw = yours.filter((g) => g.access === 'rw').map((g) => g.path);
  let kept = guards.filter((g) => !lifted.some((l) => isWithin(g.path, l)) && (g.mode === 'scan' || !namedRw.includes(g.path)));
  kept = kept.map((g) => (g.mode === 'scan' ? { ...g, before: [...g.before, ...lifted.filter((l) => isWithin(l, g.path))] } : g));
  // Only what the command may write needs a guard (a gitdir outside, say).
  kept = kept.filter((g) => (g.mode === 'scan' && writable.includes(g.path)) || inWritable(g.path));
  // --protect PATH: always, whatever the lifts, in any writable tree (a
  // built-in profile's outside the project too: the agent profiles keep
  // their tool's settings under $HOME so).
  const anyWritable = policy.grants.filter((g) => g.access === 'rw' && g.isDir).map((g) => g.path);
  const inAnyWritable = (p: string) => anyWritable.some((t) => isWithin(p, t) && p !== t);
  for (const p of resolved(opts.protect, host, '--protect')) if (inAnyWritable(p) && !kept.some((g) => g.mode !== 'scan' && g.path === p)) keepGuards(kept, p, '--protect', host);

  // Hidden: .env files found, --hide PATH; minus --unhide and exact grants.
  const unhidden = resolved(opts.unhide, host, '--unhide');
  const granted = new Set(yours.map((g) => g.path));
  const hidden: Hidden[] = [];
  const hide = (path: string, why: string, found = false) => {
    if (hidden.some((h) => h.path === path) || unhidden.some((u) => isWithin(path, u)) || granted.has(path)) return;
    const st = host.identify(path);
    // A .env the walk found, gone or another kind now: renamed away, maybe
    // with its directory, to come back under the name once jail has
    // looked. Refused, as a path that changes while checked is.
    if (found && (!st || st.isDir)) {
      throw new PolicyError(`${printable(path)} changed while jail was checking it (a .env file when found, ${st ? 'a directory' : 'gone'} now).`, 'run again; if it keeps happening, stop what is rewriting the tree.');
    }
    if (!st || st.isSymlink) return; // a symlink leads to a path hidden or not on its own
    hidden.push({ path, isDir: st.isDir, why, ...(st.dev !== undefined && { dev: st.dev, ino: st.ino }) });
  };
  for (const p of found.env) hide(p, 'a .env file', true);
  for (const p of resolved(opts.hide, host, '--hide')) {
    if (host.identify(p) !== null) hide(p, '--hide');
  }
  // The jail command's stored plans, where a grant would show them: no
  // secret is in them, but digests of your environment and configs, which
  // a command could test guesses of a weak password against.
  const store = host.planStore;
  if (store && policy.grants.some((g) => g.isDir && g.access !== 'list' && isWithin(store, g.path) && g.path !== store)) hide(store, "jail's stored plans");
  refuseProjectLifts(policy, host, projectRoot, gitGlobals);
  return { ...dedupe({ ...policy, guards: order(kept), hidden }), listings: listingsFor(hidden, policy.grants, host, partial) };
}

/** A --protect or --hide typed on the command line that names exactly
 *  what a flag grants (a writable tree, a grant): exit 125. */
function contradictions(opts: JailOptions, grants: PathGrant[], host: Host): void {
  for (const [key, flag] of [['protect', '--protect'], ['hide', '--hide']] as const) {
    for (const e of opts[key] ?? []) {
      if (typeof e !== 'string') continue;
      const [p] = resolved([e], host, flag);
      const g = grants.find((x) => x.source.kind === 'flag' && x.path === p && (key === 'hide' || (x.access === 'rw' && x.isDir)));
      if (!g || g.source.kind !== 'flag') continue;
      throw new PolicyError(
        `${flag} ${printable(e)} names exactly what ${g.source.flag} ${printable(g.source.given)} grants; ${key === 'protect' ? 'it keeps paths inside a writable tree, not the tree itself' : 'it hides paths inside a readable tree, not a grant itself'}.`,
        key === 'protect' ? `drop one (--ro ${printable(g.source.given)} instead of ${g.source.flag} makes it read-only).` : 'drop one (not granting it keeps it unreadable).',
      );
    }
  }
}

/**
 * A project's grant at or inside what jail protects or hides in the
 * project (which only your --unprotect or --unhide would lift): refused,
 * rather than run with a grant other than the file says. Judged against
 * the project's protections as a whole (as for `--rw .`), so that a grant
 * of `.git/hooks` alone, with nothing around it searched, is caught too.
 */
function refuseProjectLifts(policy: Policy, host: Host, projectRoot: string | undefined, gitGlobals: readonly string[]): void {
  const named = policy.grants.filter((g) => g.source.kind === 'config' && g.source.project !== undefined);
  if (named.length === 0 || projectRoot === undefined) return;
  const root = host.realpath(projectRoot) ?? normalize(projectRoot);
  const st = host.identify(root);
  if (!st?.isDir) return;
  const whole: PathGrant = { path: root, access: 'rw', isDir: true, source: { kind: 'flag', flag: '--rw', given: root } };
  const all = withProtections({ ...policy, grants: [whole] }, {}, host, projectRoot, gitGlobals, true);
  for (const g of named) {
    if (g.source.kind !== 'config' || !g.source.project) continue;
    // At or inside what is kept as it is; a pinned `.git` itself (inside
    // it, git's own files are writable).
    const guard = g.access !== 'rw' ? undefined : (all.guards.find((x) => x.mode === 'keep' && isWithin(g.path, x.path)) ?? all.guards.find((x) => x.mode === 'pin' && x.path === g.path));
    const hid = all.hidden.find((h) => isWithin(g.path, h.path));
    if (!guard && !hid) continue;
    const { given, where } = g.source.project;
    const key = g.source.flag.replace(/^--/, '');
    const what = guard ? `${guard.path === g.path ? 'is' : `is inside ${printable(guard.path)}, which is`} protected (${guard.why})` : `${hid!.path === g.path ? 'is' : `is inside ${printable(hid!.path)}, which is`} hidden (${hid!.why})`;
    const lift = guard ? '--unprotect' : '--unhide';
    throw new PolicyError(
      `${where}: ${JSON.stringify(key)} path ${JSON.stringify(printable(given))} ${what}; a project's config may not lift that, only your ${lift} can.`,
      `remove it from that file; if the command must ${guard ? 'write' : 'read'} it, pass ${lift} ${printable((guard ?? hid)!.path)} yourself.`,
    );
  }
}

/** A keep guard for `path` as it is now (absent when missing), and for
 *  what a symlink there leads to: that runs too (`.git/hooks ->
 *  ../tools/hooks`). A FIFO or device is left out: nothing that runs. */
function keepGuards(guards: Guard[], path: string, why: string, host: Host): void {
  const st = host.identify(path);
  const kind = st === null ? 'absent' : st.isSymlink ? 'symlink' : st.isDir ? 'dir' : st.isFile ? 'file' : null;
  if (kind === null) return;
  guards.push({ mode: 'keep', path, kind, why, ...(st?.dev !== undefined && { dev: st.dev, ino: st.ino }) });
  const real = kind === 'symlink' ? host.realpath(path) : null;
  if (real !== null && real !== path && !guards.some((x) => x.path === real)) keepGuards(guards, real, why, host);
}

/** A repository's gitdir: its config, hooks and the names that redirect
 *  them, its submodules' and linked worktrees' own. Returns what
 *  core.hooksPath and core.fsmonitor are set to in its config and the
 *  files that includes (`key\0value`), for the caller to keep per worktree. */
function gitGuards(gitdir: string, host: Host, keep: (p: string, why: string) => void, guards: Guard[], gitdirs: string[]): string[] {
  keep(`${gitdir}/config`, 'git config');
  keep(`${gitdir}/hooks`, 'git hooks');
  keep(`${gitdir}/commondir`, 'git reads it for its config and hooks');
  keep(`${gitdir}/config.worktree`, 'git config (worktree)');
  // A rebase or cherry-pick left unfinished: its todo list's `exec` lines
  // run at the next `git rebase --continue`.
  for (const state of ['rebase-merge', 'rebase-apply', 'sequencer']) keep(`${gitdir}/${state}`, 'an unfinished rebase or cherry-pick (its todo runs commands)');
  // The config, config.worktree, and the files they include (each
  // relative to the file that includes it), which are config too.
  const configs = gitConfigs([`${gitdir}/config`, `${gitdir}/config.worktree`], host);
  for (const c of configs.slice(2)) keep(c.path, 'git config (include.path)');
  // Submodules: gitdirs under modules/ (names may hold slashes).
  const modules = `${gitdir}/modules`;
  const known: string[] = [];
  for (const m of moduleDirs(modules, host, 4)) {
    known.push(`${m}/config`, `${m}/hooks`);
    gitdirs.push(m);
    keep(`${m}/config`, 'git config (submodule)');
    keep(`${m}/hooks`, 'git hooks (submodule)');
    keep(`${m}/commondir`, 'git reads it for its config and hooks');
  }
  guards.push({ mode: 'scan', path: modules, depth: 5, names: ['config', 'hooks', 'commondir', 'config.worktree'], before: known, gitdirs: [], why: 'a new submodule gitdir' });
  // Linked worktrees: their admin directories.
  const worktrees = `${gitdir}/worktrees`;
  const names = host.stat(worktrees, true)?.isDir ? host.readdir(worktrees).filter((e) => e.isDir).map((e) => e.name) : [];
  for (const n of names) {
    keep(`${worktrees}/${n}/commondir`, 'git reads it for its config and hooks');
    keep(`${worktrees}/${n}/config.worktree`, 'git config (worktree)');
  }
  guards.push({ mode: 'worktrees', path: worktrees, before: names, why: 'a linked worktree' });
  gitdirs.push(`${worktrees}/*`);
  return gitRunners(configs);
}

/** The config files git reads from `paths`, and those they include,
 *  recursively (as git, to a bounded depth): each with its text, or null
 *  where it does not exist or cannot be read. The first ones are `paths`,
 *  in order; then the included ones. */
function gitConfigs(paths: readonly string[], host: Host): Array<{ path: string; text: string | null }> {
  const out: Array<{ path: string; text: string | null }> = [];
  const seen = new Set<string>();
  const add = (p: string, depth: number) => {
    if (seen.has(p) || out.length > 64) return;
    seen.add(p);
    const text = readConfig(p, host);
    out.push({ path: p, text });
    if (text === null || depth >= 10) return;
    for (const v of configValues(text, /^include(if\s+".*")?$/i, 'path')) {
      if (v === '') continue;
      add(normalize(v.startsWith('~/') ? `${host.home}${v.slice(1)}` : v.startsWith('/') ? v : `${parentOf(p)}/${v}`), depth + 1);
    }
  };
  for (const p of paths) add(p, 0);
  // `paths` first, whatever includes what.
  return [...paths.map((p) => out.find((c) => c.path === p)!), ...out.filter((c) => !paths.includes(c.path))];
}

/** Every value core.hooksPath and core.fsmonitor have in the configs (any
 *  of them may be the one in force), as `key\0value`; booleans left out. */
function gitRunners(configs: ReadonlyArray<{ text: string | null }>): string[] {
  const out: string[] = [];
  for (const { text } of configs) {
    if (text === null) continue;
    for (const key of ['hookspath', 'fsmonitor']) {
      for (const v of configValues(text, /^core$/i, key)) if (v !== '' && !/^(true|false|yes|no|on|off|[01])$/i.test(v)) out.push(`${key}\0${v}`);
    }
  }
  return [...new Set(out)];
}

/** The user's own git config files: git reads them in every repository. */
export function defaultGitGlobals(host: Host, env: Readonly<Record<string, string | undefined>> = {}): string[] {
  return [...new Set(['/etc/gitconfig', `${env.XDG_CONFIG_HOME || `${host.home}/.config`}/git/config`, `${host.home}/.gitconfig`, ...(env.GIT_CONFIG_GLOBAL ? [env.GIT_CONFIG_GLOBAL] : [])])];
}

/** A git config file's text (a symlink followed, as git does); null when
 *  it is missing or not a small regular file. */
function readConfig(p: string, host: Host): string | null {
  try {
    return host.readText(p, { follow: true, max: 1 << 20 });
  } catch {
    return null;
  }
}

/** Submodule gitdirs below `dir`: directories holding HEAD and config. */
function moduleDirs(dir: string, host: Host, depth: number): string[] {
  if (depth === 0 || !host.stat(dir, true)?.isDir) return [];
  const out: string[] = [];
  const entries = host.readdir(dir);
  for (const e of entries) {
    if (!e.isDir) continue;
    const sub = `${dir}/${e.name}`;
    if (host.stat(`${sub}/HEAD`, true)?.isFile && host.stat(`${sub}/config`, true)?.isFile) out.push(sub, ...moduleDirs(`${sub}/modules`, host, 4));
    else out.push(...moduleDirs(sub, host, depth - 1));
  }
  return out;
}

/** A `.git` file's `gitdir:`, resolved against its directory. */
function gitdirOf(dotgit: string, host: Host): string | null {
  const m = /^gitdir: *(.+?)\s*$/m.exec(readSmall(dotgit, host) ?? '');
  if (!m) return null;
  const p = m[1]!.startsWith('/') ? normalize(m[1]!) : normalize(`${parentOf(dotgit)}/${m[1]}`);
  return host.realpath(p) === p ? p : null; // through a symlink: not followed
}

/** A linked worktree's common gitdir, from its `commondir`. */
function commonOf(gitdir: string, host: Host): string | null {
  const text = readSmall(`${gitdir}/commondir`, host)?.trim();
  if (!text) return null;
  const p = text.startsWith('/') ? normalize(text) : normalize(`${gitdir}/${text}`);
  return host.realpath(p) === p ? p : null;
}

/** `[core] key = value` in a git config, last one wins; null if none. */
export function coreValue(text: string, key: string): string | null {
  return configValues(text, /^core$/i, key).at(-1) ?? null;
}

/** Every `key = value` in sections whose header (`include`, `includeIf
 *  "gitdir:x"`) matches, in order. A reader of the common forms only: what
 *  it misses is not kept. */
export function configValues(text: string, section: RegExp, key: string): string[] {
  let inside = false;
  const values: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/^\s+/, '');
    const head = /^\[\s*([A-Za-z0-9.-]+(?:\s+"[^"]*")?)\s*\]/.exec(line);
    if (head) {
      inside = section.test(head[1]!);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9-]*)\s*(?:=\s*(.*))?$/.exec(line);
    if (inside && kv && kv[1]!.toLowerCase() === key) values.push(unquote((kv[2] ?? 'true').replace(/\s+[#;].*$/, '').trim()));
  }
  return values;
}

const unquote = (v: string) => (v.length >= 2 && v.startsWith('"') && v.endsWith('"') ? v.slice(1, -1) : v);

function readSmall(p: string, host: Host): string | null {
  try {
    return host.readText(p, { follow: false, max: 1 << 20 });
  } catch {
    return null;
  }
}

interface Found {
  /** Whether every directory down to DEPTH was listed. */
  complete: boolean;
  /** `.git` entries (directories or files). */
  gits: string[];
  /** Files named HEAD (a bare repository's), outside `.git`. */
  heads: string[];
  /** RUNS_LATER names, each with why. */
  later: Array<{ path: string; why: string }>;
  /** dotenv files. */
  env: string[];
}

/** One bounded walk of the trees: no symlink followed, node_modules left
 *  out, not into `.git` (as the after-run scan, which compares with it). */
function search(roots: string[], host: Host): Found {
  const out: Found = { complete: true, gits: [], heads: [], later: [], env: [] };
  let budget = MAX_DIRS;
  // A directory listed twice in one tree: another process renames in it
  // while it is walked (another jailed run's command, swapping the
  // directory that holds a .env with one that does not), so that the .env
  // may be under no name walked. Refused, as a path that changes while
  // checked is.
  let seen = new Set<string>();
  // `inside`: a directory one level below DEPTH that qualified names look
  // in (`.config` for `.config/mise.toml`), listed for those alone; the
  // after-run scan walks the same way (guards.ts walkScan).
  const walk = (dir: string, depth: number, inside = false) => {
    // Past the budget the search goes on for .env files alone: a jailed
    // run may leave thousands of directories (mkdir in a loop) so that the
    // next run's search stops before the .env it should hide. Protected
    // names there are recorded before the command starts instead (`scan`).
    const full = budget-- > 0;
    if (!full) out.complete = false;
    if (inside && !full) return; // nothing but protected names to find there
    const st = host.identify(dir);
    if (st?.dev !== undefined) {
      const id = `${st.dev}:${st.ino}`;
      if (seen.has(id)) throw new PolicyError(`${printable(dir)} changed while jail was looking for what to hide and protect in it (something renames in that tree).`, 'run again; if it keeps happening, stop what is rewriting it.');
      seen.add(id);
    }
    // One of yours that you cannot list (an earlier jailed run's chmod
    // 000): what is in it cannot be hidden or protected, and the command,
    // as you, may chmod it back and read it.
    if (st?.isDir && host.uid !== 0 && st.uid === host.uid && (st.mode & 0o500) !== 0o500) {
      throw new PolicyError(
        `jail cannot look into ${printable(dir)} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}): a .env or git hook in it could be neither hidden nor protected, and the command could make it readable again.`,
        `chmod u+rx ${printable(dir)} (it is yours), and run again.`,
      );
    }
    let entries;
    try {
      entries = host.readdir(dir);
    } catch {
      return; // unreadable: nothing found there
    }
    const at = (n: string) => (dir === '/' ? `/${n}` : `${dir}/${n}`);
    const parent = baseName(dir);
    for (const e of entries) {
      if (inside) {
        const hit = LATER_NAMES.match(e.name, parent, true);
        if (hit !== undefined && full) out.later.push({ path: at(e.name), why: LATER.get(hit)! });
        continue;
      }
      if (e.name === '.git') {
        if (full) out.gits.push(at(e.name));
        continue;
      }
      const hit = LATER_NAMES.match(e.name, parent);
      if (hit !== undefined) {
        if (full) out.later.push({ path: at(e.name), why: LATER.get(hit)! });
      } else if (e.name === 'HEAD') {
        if (full) out.heads.push(at(e.name));
      } else if (isEnvFile(e.name) && !e.isDir) out.env.push(at(e.name));
      if (e.isDir && !e.isSymlink && e.name !== 'node_modules') {
        if (depth < DEPTH) walk(at(e.name), depth + 1);
        else if (LATER_NAMES.parents.has(e.name)) walk(at(e.name), depth + 1, true);
      }
    }
  };
  for (const r of roots) {
    seen = new Set();
    if (host.stat(r, true)?.isDir) walk(r, 0);
  }
  // Roots inside another's tree (a writable tree it does not reach) may
  // meet a name twice: each once.
  const once = <T>(xs: T[], key: (x: T) => string) => {
    const seenKeys = new Set<string>();
    return xs.filter((x) => !seenKeys.has(key(x)) && !!seenKeys.add(key(x)));
  };
  return { complete: out.complete, gits: once(out.gits, String), heads: once(out.heads, String), later: once(out.later, (l) => l.path), env: once(out.env, String) };
}

/** Whether the walk from root `r` lists directory `t`'s entries. */
function listed(t: string, r: string): boolean {
  if (!isWithin(t, r)) return false;
  const parts = t === r ? [] : t.slice(r === '/' ? 1 : r.length + 1).split('/');
  return parts.length <= DEPTH && !parts.some((p) => p === '.git' || p === 'node_modules');
}

/** The trees not inside another in the list. */
function outermost(paths: string[]): string[] {
  const u = [...new Set(paths)].sort();
  return u.filter((p) => !u.some((q) => q !== p && isWithin(p, q)));
}

/** Paths given to --protect and the like: absolute, real up to the nearest
 *  existing ancestor (a name that does not exist yet is fine). */
function resolved(entries: PathEntry[] | undefined, host: Host, flag: string): string[] {
  return (entries ?? []).map((e) => {
    const given = (typeof e === 'string' ? e : e.path).replace(/\?$/, '');
    if (given === '') throw new PolicyError(`${flag} needs a path.`, `write ${flag} PATH, e.g. ${flag} ${flag.endsWith('hide') ? '.env.local' : '.git/hooks'}`);
    return resolveNearest(absolute(given, host), host);
  });
}

/**
 * For each hidden path and each readable grant above it: the entries of
 * each directory on the way down, which a split grant needs (the Landlock
 * layer: every entry beside the way gets the grant's rights). `partial`:
 * only the entries on the way, which is all the namespace layer reads (the
 * identities of the directories it binds on themselves, namespace/view.ts):
 * one question per level instead of one per entry beside it (a project's
 * node_modules, when jail's own plan store is in it, has hundreds).
 */
function listingsFor(hidden: Hidden[], grants: PathGrant[], host: Host, partial: boolean): Listing[] {
  const ways = new Map<string, Set<string>>();
  for (const h of hidden) {
    for (const g of grants) {
      if (!g.isDir || (g.access !== 'ro' && g.access !== 'rw') || g.path === h.path || !isWithin(h.path, g.path)) continue;
      for (let d = parentOf(h.path), next = h.path; isWithin(d, g.path); next = d, d = parentOf(d)) {
        const on = ways.get(d) ?? new Set<string>();
        if (next !== h.path) on.add(next.slice(d === '/' ? 1 : d.length + 1)); // a directory on the way
        ways.set(d, on);
        if (d === g.path) break;
      }
    }
  }
  const entry = (dir: string, name: string) => {
    const st = host.identify(dir === '/' ? `/${name}` : `${dir}/${name}`);
    if (!st || st.isSymlink) return [];
    return [{ name, isDir: st.isDir, ...(st.dev !== undefined && { dev: st.dev, ino: st.ino }) }];
  };
  return [...ways.keys()].sort().map((dir) =>
    partial
      ? { dir, entries: [...ways.get(dir)!].sort().flatMap((name) => entry(dir, name)), partial: true as const }
      : { dir, entries: host.readdir(dir).flatMap((e) => (e.isSymlink ? [] : entry(dir, e.name))) },
  );
}

/** The policy with complete listings, for the Landlock layer, when what it
 *  has was made for the namespace layer (`partial`): a run whose namespaces
 *  were refused at the spawn falls back to that layer. */
export function withFullListings(policy: Policy, host: Host): Policy {
  if (!policy.listings.some((l) => l.partial)) return policy;
  return { ...policy, listings: listingsFor(policy.hidden, policy.grants, host, false) };
}

function dedupe(p: Policy): Policy {
  const seen = new Set<string>();
  const guards = p.guards.filter((g) => {
    const k = `${g.mode}\0${g.path}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  return { ...p, guards };
}

/** Shallower first: a pin on `.git` before what is inside it. */
function order(guards: Guard[]): Guard[] {
  const depth = (p: string) => p.split('/').length;
  return [...guards].sort((a, b) => depth(a.path) - depth(b.path));
}

function sourceFlag(g: PathGrant): string {
  const s = g.source;
  return s.kind === 'flag' || s.kind === 'config' ? `${s.flag} ${printable(s.given)}` : printable(g.path);
}

const baseName = (p: string) => p.slice(p.lastIndexOf('/') + 1);
