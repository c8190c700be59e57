/**
 * Nothing the jail writes runs later outside it (issue 11), judged from
 * outside: a jailed `--rw .` command plants what git, npm, a shell or an
 * editor would run later; then the user's own unjailed action runs, and
 * the marker the planted code would write must not exist, and what was
 * planted over must be back byte for byte.
 *
 * The two layers differ in how, not in what: the namespace layer refuses
 * writes to protected paths that exist (read-only binds) and removes
 * protected names made during the run; the fallback restores every change
 * after the run and keeps what was written in
 * $XDG_STATE_HOME/jail/quarantine/<stamp>-<pid>/<absolute path>. Both
 * name on stderr each path they undid.
 *
 * GIT-FINDINGS.md says what git itself writes under .git and what it reads
 * that runs code: the vectors below come from there.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, LAYER, inFallback, jail, makeWorld, needs, printed, removeWorld, strictJail, type World } from './harness.js';

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];
const NOBODY = 65534;

/** The identity git needs, inside and outside the jail. */
const GIT_ID = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };

/** What a path holds, recursively: `absent`, a symlink's target, a file's
 *  mode and bytes; so "back byte for byte" is one toEqual. */
function snapshot(root: string, rels: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const p = path.join(root, rel);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(p);
    } catch {
      out[rel] = 'absent';
      return;
    }
    if (st.isSymbolicLink()) out[rel] = `symlink -> ${fs.readlinkSync(p)}`;
    else if (st.isDirectory()) {
      out[rel] = 'dir';
      for (const e of fs.readdirSync(p).sort()) walk(path.join(rel, e));
    } else out[rel] = `file ${(st.mode & 0o777).toString(8)} ${fs.readFileSync(p).toString('base64')}`;
  };
  for (const rel of rels) walk(rel);
  return out;
}

/** One user's world: projects, the markers planted code would write, the
 *  state directory the fallback quarantines into. */
interface Side {
  w: World;
  who: string;
  asNobody: boolean;
  markers: string;
  state: string;
}

function side(who: string, asNobody: boolean): Side {
  const w = makeWorld(`protect-${who}`);
  const markers = path.join(w.outside, 'markers');
  const state = path.join(w.root, 'state');
  for (const d of [markers, state, path.join(w.root, 'npm-cache')]) {
    fs.mkdirSync(d, { recursive: true });
    if (asNobody) fs.chownSync(d, NOBODY, NOBODY);
  }
  w.env = { ...w.env, ...GIT_ID, XDG_STATE_HOME: state, npm_config_update_notifier: 'false', npm_config_fund: 'false' };
  return { w, who, asNobody, markers, state };
}

let seq = 0;

/**
 * A fresh project: a git repository on `main` with one commit, the given
 * files, and `package.json` with a script `x`; owned by nobody for
 * nobody's tests (its own files, as a real user's project is).
 */
function project(s: Side, name: string, files: Record<string, string> = {}, setup = ''): string {
  const dir = path.join(s.w.root, `${name}-${++seq}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), 'readme\n');
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'victim', version: '1.0.0', scripts: { x: 'node -e 0' } }));
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'index.js'), 'console.log(1)\n');
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text);
    if (text.startsWith('#!')) fs.chmodSync(path.join(dir, f), 0o755);
  }
  sh(dir, `git init -q -b main . && git config user.name t && git config user.email t@t && printf '#!/bin/sh\\nexit 0\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && git add -A && git commit -qm init${setup ? ` && ${setup}` : ''}`);
  if (s.asNobody) spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
  return dir;
}

/** A shell command outside the jail, as the test's user (nobody through setpriv). */
function outside(s: Side | null, cwd: string, script: string): SpawnSyncReturns<string> {
  const env = { ...(s?.w.env ?? process.env), ...GIT_ID, ...(s && { npm_config_cache: path.join(s.w.root, 'npm-cache') }) };
  const [cmd, args] = s?.asNobody ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', script]] : ['sh', ['-c', script]];
  return spawnSync(cmd, args as string[], { cwd, env, encoding: 'utf8', timeout: 20_000 });
}
/** The commit HEAD names, or git's complaint (a repository replaced or gone). */
function head(proj: string): string {
  const r = spawnSync('git', ['-c', 'safe.directory=*', 'rev-parse', 'HEAD'], { cwd: proj, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : `no HEAD: ${r.stderr.trim()}`;
}

/** Marker files written by code planted for the project numbered `n`. */
const fired = (s: Side, n: number) => fs.readdirSync(s.markers).filter((f) => f.startsWith(`m${n}-`));

function sh(cwd: string, script: string): string {
  const r = spawnSync('sh', ['-c', script], { cwd, env: { ...process.env, ...GIT_ID, HOME: cwd }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`setup failed: ${script}\n${r.stderr}`);
  return r.stdout;
}

/** The entries the fallback quarantined for `abs` (any run's stamp). */
function quarantined(s: Side, abs: string): string[] {
  const q = path.join(s.state, 'jail', 'quarantine');
  if (!fs.existsSync(q)) return [];
  // lstat: a quarantined symlink may dangle there.
  return fs.readdirSync(q).map((stamp) => path.join(q, stamp, abs)).filter((p) => fs.lstatSync(p, { throwIfNoEntry: false }) !== undefined);
}

/** Every entry the fallback quarantined, for "a clean run undoes nothing". */
function quarantineAll(s: Side): string[] {
  const q = path.join(s.state, 'jail', 'quarantine');
  return fs.existsSync(q) ? fs.readdirSync(q) : [];
}

/** The paths a plant script says it wrote (`WROTE <rel>` after each step that succeeded). */
const wrote = (r: { stdout: string }) => [...r.stdout.matchAll(/^WROTE (.+)$/gm)].map((m) => m[1]!);

/** A repository that looks whole (HEAD, refs, objects) with code in its config and hooks. */
const evilRepo = (dir: string, marker: string) =>
  `mkdir -p ${dir}/hooks && cp -r .git/objects .git/refs .git/HEAD ${dir}/ && ` +
  `printf '[core]\\n\\trepositoryformatversion = 0\\n\\tbare = false\\n\\tfsmonitor = "touch ${marker}-fsmonitor; false"\\n' > ${dir}/config && ` +
  `printf '#!/bin/sh\\ntouch ${marker}-hook\\n' > ${dir}/hooks/pre-commit && chmod +x ${dir}/hooks/pre-commit`;

interface Vector {
  name: string;
  /** Files the project has before the run. */
  files?: Record<string, string>;
  /** Shell run unjailed after `git init` and the first commit. */
  setup?: string;
  /** The plant, run jailed in the project with `--rw .`; M is the marker prefix. */
  plant: (M: string) => string;
  /** The user's later action, unjailed. */
  later: string;
  /** What must be as it was after the run (relative to the project). */
  watch: string[];
}

const hook = (M: string, name: string) => `'#!/bin/sh\\ntouch ${M}-${name}\\n'`;

/** GIT-FINDINGS.md §2: each is a route git (or npm, or a shell) takes to code. */
const vectors: Vector[] = [
  {
    name: '.git/hooks/pre-commit (overwritten) and post-commit (new)',
    plant: (M) =>
      `printf ${hook(M, 'pre')} > .git/hooks/pre-commit && echo WROTE .git/hooks\n` +
      `printf ${hook(M, 'post')} > .git/hooks/post-commit && chmod +x .git/hooks/post-commit && echo WROTE .git/hooks`,
    later: 'git commit -q --allow-empty -m later',
    watch: ['.git/hooks'],
  },
  {
    // The fallback cannot refuse a chmod (README); the check after the run
    // must still see, and put back, what lies below a directory made
    // unreadable. The user who finds git failing makes it readable again.
    name: '.git/hooks/pre-commit overwritten, then .git made unreadable (chmod 000)',
    plant: (M) => `printf ${hook(M, 'closed')} > .git/hooks/pre-commit && echo WROTE .git/hooks\nchmod 000 .git`,
    later: 'chmod 755 .git; git commit -q --allow-empty -m later',
    watch: ['.git/hooks'],
  },
  {
    name: '.git/hooks swapped for a symlink to a writable directory',
    plant: (M) =>
      `mkdir -p evilhooks && printf ${hook(M, 'hooks-link')} > evilhooks/pre-commit && chmod +x evilhooks/pre-commit\n` +
      `mv .git/hooks .git/hooks.away && ln -s ../evilhooks .git/hooks && echo WROTE .git/hooks`,
    later: 'git commit -q --allow-empty -m later',
    watch: ['.git/hooks'],
  },
  {
    name: 'core.fsmonitor set with git config',
    plant: (M) => `git config core.fsmonitor "touch ${M}-fsmonitor; false" && echo WROTE .git/config`,
    later: 'git status --porcelain',
    watch: ['.git/config'],
  },
  {
    name: 'core.fsmonitor and core.hooksPath written into .git/config directly (append, and rename over it)',
    plant: (M) =>
      `printf '[core]\\n\\tfsmonitor = "touch ${M}-append; false"\\n' >> .git/config && echo WROTE .git/config\n` +
      `mkdir -p evilhooks && printf ${hook(M, 'hookspath')} > evilhooks/pre-commit && chmod +x evilhooks/pre-commit\n` +
      `cp .git/config cfg.new && printf '[core]\\n\\thooksPath = %s/evilhooks\\n' "$PWD" >> cfg.new && mv cfg.new .git/config && echo WROTE .git/config`,
    later: 'git status --porcelain; git commit -q --allow-empty -m later',
    watch: ['.git/config'],
  },
  {
    name: '.git/commondir pointing at a repository with code in its config and hooks',
    plant: (M) => `${evilRepo('.evil', `${M}-commondir`)}\necho "$PWD/.evil" > .git/commondir && echo WROTE .git/commondir`,
    later: 'git status --porcelain; git commit -q --allow-empty -m later',
    watch: ['.git/commondir', '.git/config', '.git/hooks'],
  },
  {
    name: '.git/config.worktree in a repository with extensions.worktreeConfig',
    setup: 'git config extensions.worktreeConfig true',
    plant: (M) =>
      `printf '[core]\\n\\tfsmonitor = "touch ${M}-config-worktree; false"\\n' > .git/config.worktree && echo WROTE .git/config.worktree\n` +
      `git config --worktree core.fsmonitor "touch ${M}-config-worktree-cli; false" && echo WROTE .git/config.worktree`,
    later: 'git status --porcelain',
    watch: ['.git/config.worktree', '.git/config'],
  },
  {
    name: '.git replaced by a new repository (the real one renamed away)',
    plant: (M) => `mv .git .git-away && git init -q && git config core.fsmonitor "touch ${M}-new-gitdir; false" && echo WROTE .git`,
    later: 'git status --porcelain',
    watch: ['.git/config', '.git/HEAD', '.git/hooks'],
  },
  {
    name: '.git replaced by a gitdir: file (the real one renamed away)',
    plant: (M) => `${evilRepo('.evil', `${M}-gitdir-file`)}\nmv .git .git-away && echo "gitdir: $PWD/.evil" > .git && echo WROTE .git`,
    later: 'git status --porcelain; git commit -q --allow-empty -m later',
    watch: ['.git/config', '.git/HEAD', '.git/hooks'],
  },
  {
    name: 'a nested repository (sub/.git, src/.git) with core.fsmonitor',
    plant: (M) =>
      `mkdir -p sub && git -C sub init -q && git -C sub config core.fsmonitor "touch ${M}-nested-sub; false" && echo WROTE sub/.git\n` +
      `git -C src init -q && git -C src config core.fsmonitor "touch ${M}-nested-src; false" && echo WROTE src/.git`,
    later: 'git -C sub status --porcelain; git -C src status --porcelain',
    watch: ['sub/.git', 'src/.git'],
  },
  {
    name: 'a linked worktree: its commondir, and its .git file, pointed at a repository with code',
    setup: 'git worktree add -q ./wt',
    plant: (M) =>
      `${evilRepo('.evil', `${M}-worktree`)}\n` +
      `echo "$PWD/.evil" > .git/worktrees/wt/commondir && echo WROTE .git/worktrees/wt/commondir\n` +
      `echo "gitdir: $PWD/.evil" > wt/.git && echo WROTE wt/.git`,
    later: 'git -C wt status --porcelain; git -C wt commit -q --allow-empty -m later',
    watch: ['.git/worktrees/wt/commondir', 'wt/.git'],
  },
  {
    // A .git file may point at a worktree's entry (git worktree add makes
    // one), not at a gitdir the command made inside such an entry.
    name: 'a new .git file pointing at a gitdir made inside a new linked worktree’s entry',
    plant: (M) =>
      `git worktree add -q ./wt2 && X=.git/worktrees/wt2/x && mkdir -p $X/objects $X/refs evil && cp .git/HEAD $X/HEAD && ` +
      `printf '[core]\\n\\tfsmonitor = "touch ${M}-worktree-inside; false"\\n' > $X/config && echo "gitdir: ../$X" > evil/.git && echo WROTE evil/.git`,
    later: 'git -C evil status --porcelain',
    watch: ['evil/.git'],
  },
  {
    name: 'a submodule: its gitdir’s config and hooks under .git/modules',
    setup:
      'S="$PWD.subsrc" && git init -q -b main "$S" && echo s > "$S/s" && git -C "$S" add s && git -C "$S" commit -qm s && ' +
      'git -c protocol.file.allow=always submodule add -q "$S" sm && git commit -qm sm',
    plant: (M) =>
      `git -C sm config core.fsmonitor "touch ${M}-submodule-fsmonitor; false" && echo WROTE .git/modules/sm/config\n` +
      `printf ${hook(M, 'submodule-hook')} > .git/modules/sm/hooks/pre-commit && chmod +x .git/modules/sm/hooks/pre-commit && echo WROTE .git/modules/sm/hooks`,
    later: 'echo dirty >> sm/s; git status --porcelain; git -C sm commit -q --allow-empty -m later',
    watch: ['.git/modules/sm/config', '.git/modules/sm/hooks', 'sm/.git'],
  },
  {
    name: '.husky/pre-commit (a project whose hooksPath is .husky)',
    files: { '.husky/pre-commit': '#!/bin/sh\nexit 0\n' },
    setup: 'git config core.hooksPath .husky',
    plant: (M) =>
      `printf ${hook(M, 'husky')} > .husky/pre-commit && echo WROTE .husky\n` +
      `printf ${hook(M, 'husky-new')} > .husky/post-commit && chmod +x .husky/post-commit && echo WROTE .husky`,
    later: 'git commit -q --allow-empty -m later',
    watch: ['.husky', '.git/config'],
  },
  {
    name: '.npmrc (existing) given script-shell=',
    files: { '.npmrc': 'fund=false\n' },
    plant: (M) => `printf '#!/bin/sh\\ntouch ${M}-script-shell\\nexec /bin/sh "$@"\\n' > evil.sh && chmod +x evil.sh\nprintf 'script-shell=%s/evil.sh\\n' "$PWD" >> .npmrc && echo WROTE .npmrc`,
    later: 'npm run -s x',
    watch: ['.npmrc'],
  },
  {
    name: '.npmrc (new) given node-options=--require',
    plant: (M) => `echo "require('fs').writeFileSync('${M}-node-options', '')" > evil.js\nprintf 'node-options=--require %s/evil.js\\n' "$PWD" > .npmrc && echo WROTE .npmrc`,
    later: 'npm run -s x',
    watch: ['.npmrc'],
  },
  {
    // A project that shares its git settings through a committed file the
    // repository's config includes: the hooks directory that file names
    // runs at the next commit like .git/hooks.
    name: 'core.hooksPath in a file .git/config includes (include.path = ../.gitconfig)',
    files: { '.gitconfig': '[core]\n\thooksPath = .githooks\n', '.githooks/pre-commit': '#!/bin/sh\nexit 0\n' },
    setup: 'git config include.path ../.gitconfig',
    plant: (M) => `printf ${hook(M, 'included-hookspath')} > .githooks/pre-commit && echo WROTE .githooks`,
    later: 'git commit -q --allow-empty -m later',
    watch: ['.githooks', '.gitconfig', '.git/config'],
  },
  {
    // git takes a directory for a bare repository when HEAD is beside
    // objects/ and refs/ as access(X_OK) sees them (symlinks followed), or
    // beside a commondir naming where they are; its config then runs (a
    // pager in a terminal: prompts and the user's `git log` there).
    name: 'a new bare repository whose objects and refs are symlinks, and one with a commondir',
    plant: (M) =>
      `mkdir -p .o/objects .o/refs bare1 bare2 && ln -s ../.o/objects bare1/objects && ln -s ../.o/refs bare1/refs && ` +
      `printf '[core]\n\tpager = "touch ${M}-bare-symlinks; cat"\n' > bare1/config && cp .git/HEAD bare1/HEAD && echo WROTE bare1/HEAD\n` +
      `echo ../.o > bare2/commondir && printf '[core]\n\tpager = "touch ${M}-bare-commondir; cat"\n' > .o/config && cp .git/HEAD bare2/HEAD && echo WROTE bare2/HEAD`,
    later: "PAGER=cat script -qec 'git -C bare1 branch; git -C bare2 branch' /dev/null </dev/null",
    watch: ['bare1/HEAD', 'bare2/HEAD'],
  },
  {
    // More directories than the search before the run lists (4000, down to
    // two levels): a jailed run may well leave that many behind, and the
    // next one must still not plant new names.
    name: 'new names in a tree too big to search before the run (4100 directories left by an earlier run)',
    setup: 'mkdir .cache && (cd .cache && seq 1 4100 | xargs mkdir)',
    plant: (M) => `echo 'touch ${M}-big-envrc' > .envrc && echo WROTE .envrc\nmkdir -p sub && git -C sub init -q && git -C sub config core.fsmonitor "touch ${M}-big-nested; false" && echo WROTE sub/.git`,
    later: '. ./.envrc; git -C sub status --porcelain',
    watch: ['.envrc', 'sub/.git'],
  },
  {
    name: '.envrc (sourced later, as direnv does)',
    files: { '.envrc': 'export FOO=1\n' },
    plant: (M) => `echo 'touch ${M}-envrc' >> .envrc && echo WROTE .envrc`,
    later: '. ./.envrc',
    watch: ['.envrc'],
  },
];

/** Editor, agent and hook-manager configs: nothing here can run them, so
 *  the judgement is the bytes (existing ones) and the absence (new ones). */
const configs = {
  existing: {
    '.vscode/tasks.json': '{"version":"2.0.0","tasks":[]}\n',
    '.claude/settings.json': '{}\n',
    '.yarnrc.yml': 'nodeLinker: node-modules\nyarnPath: .yarn/releases/yarn-4.cjs\n',
    '.yarn/releases/yarn-4.cjs': '// yarn\n',
    'lefthook.yml': 'pre-commit:\n  commands: {}\n',
    '.config/mise/config.toml': '[tools]\n',
    'pnpm-workspace.yaml': 'packages: []\n',
    'app.code-workspace': '{"folders":[{"path":"."}]}\n',
    '.tool-versions': 'node 20\n',
  },
  planted: (M: string): Record<string, string> => ({
    '.vscode/tasks.json': `{"version":"2.0.0","tasks":[{"label":"x","type":"shell","command":"touch ${M}-vscode","runOptions":{"runOn":"folderOpen"}}]}`,
    '.vscode/settings.json': `{"terminal.integrated.env.linux":{"NODE_OPTIONS":"--require ${M}"}}`,
    '.claude/settings.json': `{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch ${M}-claude"}]}]}}`,
    '.claude/settings.local.json': `{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"touch ${M}-claude-local"}]}]}}`,
    '.mcp.json': `{"mcpServers":{"x":{"command":"sh","args":["-c","touch ${M}-mcp"]}}}`,
    '.cursor/mcp.json': `{"mcpServers":{"x":{"command":"touch","args":["${M}-cursor"]}}}`,
    '.codex/config.toml': `[mcp_servers.x]\ncommand = "touch"\nargs = ["${M}-codex"]\n`,
    '.gemini/settings.json': `{"mcpServers":{"x":{"command":"touch","args":["${M}-gemini"]}}}`,
    '.idea/workspace.xml': `<project><component name="RunManager"><configuration name="x"/></component></project>`,
    '.yarnrc': `yarn-path "${M}-yarn.js"\n`,
    '.yarnrc.yml': `yarnPath: ${M}-yarn.cjs\n`,
    '.pnpmfile.cjs': `require('fs').writeFileSync('${M}-pnpmfile', '')\n`,
    'bunfig.toml': `preload = ["${M}-bun.ts"]\n`,
    'mise.local.toml': `[hooks]\nenter = "touch ${M}-mise-local"\n`,
    '.mise.local.toml': `[hooks]\nenter = "touch ${M}-mise-local-dot"\n`,
    // Every project config path mise reads (src/config/mod.rs,
    // LOCAL_CONFIG_FILENAMES and the MISE_ENV patterns).
    'mise.dev.toml': `[hooks]\nenter = "touch ${M}-mise-env"\n`,
    '.mise.dev.toml': `[hooks]\nenter = "touch ${M}-mise-env-dot"\n`,
    'mise.dev.local.toml': `[hooks]\nenter = "touch ${M}-mise-env-local"\n`,
    '.mise/config.toml': `[hooks]\nenter = "touch ${M}-mise-dir"\n`,
    'mise/config.toml': `[hooks]\nenter = "touch ${M}-mise-plain-dir"\n`,
    '.config/mise.toml': `[hooks]\nenter = "touch ${M}-mise-config"\n`,
    '.config/mise.dev.toml': `[hooks]\nenter = "touch ${M}-mise-config-env"\n`,
    '.config/mise/config.toml': `[hooks]\nenter = "touch ${M}-mise-config-dir"\n`,
    '.config/mise/conf.d/x.toml': `[hooks]\nenter = "touch ${M}-mise-conf-d"\n`,
    'pkg/sub/.config/mise.toml': `[hooks]\nenter = "touch ${M}-mise-deep"\n`,
    '.rtx.toml': `[hooks]\nenter = "touch ${M}-rtx"\n`,
    '.tool-versions': `node path:${M}-node\n`,
    'pnpm-workspace.yaml': `pnpmfile: ${M}-pnpmfile.cjs\nscriptShell: ${M}-sh\n`,
    'app.code-workspace': `{"folders":[{"path":"."}],"tasks":{"version":"2.0.0","tasks":[{"label":"x","type":"shell","command":"touch ${M}-ws","runOptions":{"runOn":"folderOpen"}}]}}`,
    'other.code-workspace': `{"folders":[{"path":"."}],"settings":{"terminal.integrated.env.linux":{"NODE_OPTIONS":"--require ${M}"}}}`,
    '.devcontainer.json': `{"image":"x","initializeCommand":"touch ${M}-devcontainer"}`,
    '.yarn/releases/yarn-4.cjs': `require('fs').writeFileSync('${M}-yarn-release', '')\n`,
    '.yarn/plugins/x.cjs': `require('fs').writeFileSync('${M}-yarn-plugin', '')\n`,
    '.opencode/plugins/x.ts': `require('fs').writeFileSync('${M}-opencode', '')\n`,
    'opencode.json': `{"mcp":{"x":{"type":"local","command":["touch","${M}-opencode-mcp"]}}}`,
    'lefthook.yml': `pre-commit:\n  commands:\n    x:\n      run: touch ${M}-lefthook\n`,
    '.lefthook.yml': `pre-commit:\n  commands:\n    x:\n      run: touch ${M}-lefthook-dot\n`,
    'lefthook-local.yml': `pre-commit:\n  commands:\n    x:\n      run: touch ${M}-lefthook-local\n`,
  }),
};
/** What a planted path's protection covers: its top entry, or the entry
 *  that a name qualified by its directory names (`.config/mise.toml`,
 *  `.yarn/releases`: not the whole `.config` or `.yarn`). */
const QUALIFIERS = new Set(['.config', 'mise', '.yarn']);
const topOf = (rel: string) => {
  const parts = rel.split('/');
  const q = parts.findIndex((p, i) => QUALIFIERS.has(p) && i < parts.length - 1);
  return q < 0 ? parts[0]! : parts.slice(0, q + 2).join('/');
};

strictJail.describe.each(users)('protected paths (%s)', (who, asNobody) => {
  let s: Side;
  beforeAll(() => {
    s = side(who.replace(/\s/g, '-'), asNobody);
  });
  afterAll(() => removeWorld(s.w));

  /** `jail ARGS` in `proj` as this side's user. */
  const run = (proj: string, args: string[]) => jail(s.w, args, { cwd: proj, asNobody });

  /**
   * What each layer owes for a plant: writes to what existed were refused
   * (namespaces) or undone and quarantined (fallback); every path the plant
   * did write is named on stderr.
   */
  function judgeReport(r: SpawnSyncReturns<string>, proj: string, before: Record<string, string>) {
    for (const rel of new Set(wrote(r))) {
      const abs = path.join(proj, rel);
      if (LAYER === 'namespaces') expect(before[rel] === 'absent' || before[rel] === undefined, `${rel} existed, yet the write went through in the namespace layer`).toBe(true);
      expect(r.stderr, `stderr names ${abs}, which the run wrote`).toContain(abs);
      if (inFallback) expect(quarantined(s, abs), `what was written to ${rel} is kept in the quarantine`).not.toEqual([]);
    }
  }

  strictJail.describe('what a jailed --rw . plants does not run later', () => {
    strictJail.it.each(vectors)('$name', (v) => {
      const proj = project(s, 'vec', v.files, v.setup);
      const n = seq;
      const M = path.join(s.markers, `m${n}`);
      const before = snapshot(proj, v.watch);
      const headBefore = head(proj);
      const r = run(proj, ['--rw', '.', '--', 'sh', '-c', `${v.plant(M)}\necho DONE`]);
      expect(r.stdout, printed(r)).toContain('DONE');
      // Back as it was, before anything else runs.
      expect(snapshot(proj, v.watch)).toEqual(before);
      expect(head(proj)).toBe(headBefore);
      judgeReport(r, proj, before);
      // The user's next action, unjailed, runs nothing planted.
      const later = outside(s, proj, v.later);
      expect(fired(s, n), printed(later)).toEqual([]);
    });

    strictJail.it('editor, agent and hook-manager configs come back as they were, new ones go', () => {
      const proj = project(s, 'configs', configs.existing);
      const M = path.join(s.markers, `m${seq}`);
      const planted = configs.planted(M);
      const watch = [...new Set(Object.keys(planted).map(topOf))];
      const before = snapshot(proj, watch);
      const script = Object.entries(planted)
        .map(([f, text]) => `mkdir -p ${path.dirname(f)} && printf '%s' '${text.replace(/'/g, `'\\''`)}' > ${f} && echo WROTE ${topOf(f)}`)
        .join('\n');
      const r = run(proj, ['--rw', '.', '--', 'sh', '-c', `${script}\necho DONE`]);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(snapshot(proj, watch)).toEqual(before);
      judgeReport(r, proj, before);
    });
  });

  strictJail.it('hard links to a sparse file at planted names: the quarantine copies at most its limit (256 MiB), not the size the command chose', () => {
    const proj = project(s, 'sparse');
    const r = run(proj, ['--rw', '.', '--', 'sh', '-c', 'truncate -s 200M big && mkdir sub && ln big .envrc && ln big sub/.envrc && echo DONE']);
    expect(r.stdout, printed(r)).toContain('DONE');
    // Off the names that run, and the file the command made left as it is.
    expect(fs.existsSync(path.join(proj, '.envrc'))).toBe(false);
    expect(fs.existsSync(path.join(proj, 'sub', '.envrc'))).toBe(false);
    expect(fs.statSync(path.join(proj, 'big')).size).toBe(200 << 20);
    // Real bytes in the quarantine: one copy at most (before: one per name).
    const q = path.join(s.state, 'jail', 'quarantine');
    const used = Number(spawnSync('du', ['-sb', q], { encoding: 'utf8' }).stdout.split('\t')[0]);
    expect(used).toBeLessThanOrEqual(256 << 20);
    expect(r.stderr).toMatch(/hard link too large to copy to the quarantine; that name was removed/);
    fs.rmSync(q, { recursive: true, force: true });
    fs.mkdirSync(q);
    if (asNobody) fs.chownSync(q, NOBODY, NOBODY);
  });

  strictJail.describe('everyday git and files still work under --rw .', () => {
    strictJail.it('add, commit, checkout -b, stash and pop, rebase, worktree add ./wt; new files and directories in the root', () => {
      const proj = project(s, 'work');
      const q0 = quarantineAll(s);
      const r = run(proj, [
        '--rw',
        '.',
        '--',
        'sh',
        '-c',
        [
          'set -e',
          'echo new > newfile && mkdir newdir && echo x > newdir/f',
          'git add newfile newdir && git commit -qm add',
          'git checkout -q -b feature && echo f > f.txt && git add f.txt && git commit -qm feature-commit',
          'git checkout -q main && echo m > m.txt && git add m.txt && git commit -qm main-commit',
          'git checkout -q feature && echo dirty >> README.md && git stash -q && git stash pop -q && git commit -qam dirty',
          'git rebase -q main',
          'git worktree add -q ./wt',
          'echo OK',
        ].join('\n'),
      ]);
      expect(r.stdout, printed(r)).toContain('OK');
      expect(r.status).toBe(0);
      // A normal repository, unjailed.
      expect(fs.readFileSync(path.join(proj, 'newdir', 'f'), 'utf8')).toBe('x\n');
      expect(outside(s, proj, 'git log --format=%s feature').stdout.split('\n')).toEqual(expect.arrayContaining(['dirty', 'feature-commit', 'main-commit', 'add', 'init']));
      expect(outside(s, proj, 'git stash list').stdout).toBe('');
      expect(fs.existsSync(path.join(proj, '.git', 'rebase-merge'))).toBe(false);
      const wt = outside(s, proj, 'git -C wt status --porcelain && git -C wt rev-parse --abbrev-ref HEAD');
      expect(wt.status, printed(wt)).toBe(0);
      expect(wt.stdout).toContain('wt');
      // Nothing in that was undone.
      expect(quarantineAll(s)).toEqual(q0);
    });
  });

  strictJail.describe('--rw . --ro .git', () => {
    const plant = 'echo planted >> .git/description && echo WROTE .git/description\necho x > .git/newfile && echo WROTE .git/newfile\ngit commit -q --allow-empty -m inside && echo WROTE .git/refs\necho DONE';

    strictJail.it('holds: a write under .git is refused (namespaces) or undone (fallback)', () => {
      const proj = project(s, 'rogit');
      const watch = ['.git/description', '.git/newfile', '.git/refs', '.git/logs'];
      const before = snapshot(proj, watch);
      const r = run(proj, ['--rw', '.', '--ro', '.git', '--', 'sh', '-c', plant]);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(snapshot(proj, watch)).toEqual(before);
      if (LAYER === 'namespaces') expect(wrote(r)).toEqual([]);
      else for (const rel of wrote(r)) expect(r.stderr).toContain(path.join(proj, rel.split('/').slice(0, 2).join('/')));
    });

    strictJail.it('control: without --ro .git the same writes stay (the test sees them)', () => {
      const proj = project(s, 'roctl');
      const r = run(proj, ['--rw', '.', '--', 'sh', '-c', plant]);
      expect(wrote(r)).toEqual(['.git/description', '.git/newfile', '.git/refs']);
      expect(fs.readFileSync(path.join(proj, '.git', 'description'), 'utf8')).toContain('planted');
    });
  });

  strictJail.describe('--protect, --unprotect', () => {
    strictJail.it('--protect holds a file that exists and a name that does not yet', () => {
      const proj = project(s, 'protect', { 'build.sh': '#!/bin/sh\necho build\n' });
      const watch = ['build.sh', 'out'];
      const before = snapshot(proj, watch);
      const r = run(proj, ['--rw', '.', '--protect', 'build.sh', '--protect', 'out/gen.sh', '--', 'sh', '-c', 'echo evil >> build.sh && echo WROTE build.sh\nmkdir -p out && echo evil > out/gen.sh && echo WROTE out/gen.sh\necho DONE']);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(snapshot(proj, ['build.sh'])).toEqual({ 'build.sh': before['build.sh'] });
      expect(fs.existsSync(path.join(proj, 'out', 'gen.sh'))).toBe(false);
      judgeReport(r, proj, { 'build.sh': before['build.sh']!, 'out/gen.sh': 'absent' });
    });

    strictJail.it('the npm-install profile (the project read-write, no script-shell) protects the same', () => {
      const proj = project(s, 'npm-install');
      const n = seq;
      const M = path.join(s.markers, `m${n}`);
      const before = snapshot(proj, ['.git/hooks', '.git/config']);
      const r = run(proj, ['-p', 'npm-install', '--', 'sh', '-c', `printf ${hook(M, 'npm-install-hook')} > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && echo WROTE .git/hooks/pre-commit\necho DONE`]);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(snapshot(proj, ['.git/hooks', '.git/config'])).toEqual(before);
      outside(s, proj, 'git commit -q --allow-empty -m later');
      expect(fired(s, n)).toEqual([]);
    });

    strictJail.it('--unprotect lifts one default: that hook stays, .git/config is still held', () => {
      const proj = project(s, 'unprotect');
      const cfg = snapshot(proj, ['.git/config']);
      const r = run(proj, ['--rw', '.', '--unprotect', '.git/hooks', '--', 'sh', '-c', `printf '#!/bin/sh\\nexit 0\\n# mine\\n' > .git/hooks/pre-push && chmod +x .git/hooks/pre-push\ngit config core.fsmonitor false\necho DONE`]);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(fs.readFileSync(path.join(proj, '.git', 'hooks', 'pre-push'), 'utf8')).toContain('# mine');
      expect(snapshot(proj, ['.git/config'])).toEqual(cfg);
    });
  });

  strictJail.describe('hidden: .env and .env.*', () => {
    const SECRET = { env: `ENV-SECRET-${Math.random().toString(36).slice(2)}`, local: `LOCAL-SECRET-${Math.random().toString(36).slice(2)}`, nested: `NESTED-SECRET-${Math.random().toString(36).slice(2)}` };
    const files = {
      '.env': `API_KEY=${SECRET.env}\n`,
      '.env.local': `API_KEY=${SECRET.local}\n`,
      'apps/web/.env': `API_KEY=${SECRET.nested}\n`,
      '.env.example': 'API_KEY=EXAMPLE-1\n',
      '.env.sample': 'API_KEY=EXAMPLE-2\n',
      '.env.template': 'API_KEY=EXAMPLE-3\n',
    };
    const read = 'cat .env; cat .env.local; cat apps/web/.env; cat .env.example .env.sample .env.template; grep -r API_KEY . ; cp .env leak 2>/dev/null; echo DONE';
    const leaks = (p: string) => Object.values(SECRET).filter((v) => p.includes(v));

    strictJail.it('with --ro .: no content reaches the output; the examples do', () => {
      const proj = project(s, 'env-ro', files);
      const r = run(proj, ['--ro', '.', '--', 'sh', '-c', read]);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(leaks(printed(r))).toEqual([]);
      for (const n of [1, 2, 3]) expect(r.stdout).toContain(`EXAMPLE-${n}`);
    });

    strictJail.it('with --rw .: no content reaches the output or a file (namespaces); the fallback refuses to run (125, nothing ran)', () => {
      const proj = project(s, 'env-rw', files);
      const r = run(proj, ['--rw', '.', '--', 'sh', '-c', `touch ran; ${read}`]);
      expect(leaks(printed(r))).toEqual([]);
      const leak = path.join(proj, 'leak');
      expect(fs.existsSync(leak) ? leaks(fs.readFileSync(leak, 'utf8')) : []).toEqual([]);
      if (inFallback) {
        expect(r.status).toBe(125);
        expect(fs.existsSync(path.join(proj, 'ran'))).toBe(false);
      } else {
        expect(r.stdout, printed(r)).toContain('DONE');
        for (const n of [1, 2, 3]) expect(r.stdout).toContain(`EXAMPLE-${n}`);
        // Hidden, not gone: the files are there after the run, as they were.
        expect(fs.readFileSync(path.join(proj, '.env'), 'utf8')).toBe(files['.env']);
      }
    });

    strictJail.it('in a project under /dev/shm (a tmpfs anyone may write) too', () => {
      const proj = fs.mkdtempSync('/dev/shm/jail-it-env-');
      try {
        for (const [f, text] of Object.entries(files)) {
          fs.mkdirSync(path.dirname(path.join(proj, f)), { recursive: true });
          fs.writeFileSync(path.join(proj, f), text);
        }
        spawnSync('chmod', ['-R', 'a+rX', proj]);
        if (asNobody) spawnSync('chown', ['-R', `${NOBODY}:${NOBODY}`, proj]);
        const r = run(proj, ['--ro', '.', '--', 'sh', '-c', read]);
        expect(r.stdout, printed(r)).toContain('DONE');
        expect(leaks(printed(r))).toEqual([]);
        expect(r.stdout).toContain('EXAMPLE-1'); // the tree was readable
      } finally {
        fs.rmSync(proj, { recursive: true, force: true });
      }
    });

    strictJail.it('--unhide .env shows that one (with --ro ., and with --rw . in both layers)', () => {
      const proj = project(s, 'env-unhide', files);
      const r = run(proj, ['--ro', '.', '--unhide', '.env', '--', 'sh', '-c', 'cat .env; cat .env.local; echo DONE']);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(r.stdout).toContain(SECRET.env);
      expect(printed(r)).not.toContain(SECRET.local);
      // Only a .env: once it is unhidden nothing is hidden in the writable tree, so the fallback runs too.
      const only = project(s, 'env-unhide-rw', { '.env': files['.env'], '.env.example': files['.env.example'] });
      const rw = run(only, ['--rw', '.', '--unhide', '.env', '--', 'sh', '-c', 'cat .env .env.example; echo DONE']);
      expect(rw.status, printed(rw)).toBe(0);
      expect(rw.stdout).toContain(SECRET.env);
      expect(rw.stdout).toContain('EXAMPLE-1');
    });

    strictJail.it('--hide PATH hides a file of the project’s own choosing', () => {
      const proj = project(s, 'hide', { 'notes/private.txt': `PRIVATE-${SECRET.env}\n`, 'notes/public.txt': 'public notes\n' });
      const r = run(proj, ['--ro', '.', '--hide', 'notes/private.txt', '--', 'sh', '-c', 'cat notes/private.txt; cat notes/public.txt; echo DONE']);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(r.stdout).toContain('public notes');
      expect(printed(r)).not.toContain(SECRET.env);
    });

    strictJail.it('--hide DIR hides a whole directory, through a symlink too', () => {
      const proj = project(s, 'hide-dir', { 'keys/deploy.pem': `KEY-${SECRET.env}\n`, 'keys/sub/more.pem': `MORE-${SECRET.env}\n`, 'src/a.ts': 'export {}\n' });
      fs.symlinkSync('keys', path.join(proj, 'keys-link'));
      const r = run(proj, ['--ro', '.', '--hide', 'keys', '--', 'sh', '-c', 'cat keys/deploy.pem keys/sub/more.pem keys-link/deploy.pem; cp -r keys /dev/stdout; cat src/a.ts; echo DONE']);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(r.stdout).toContain('export {}');
      expect(printed(r)).not.toContain(SECRET.env);
    });
  });

  strictJail.describe('a project config narrows, never lifts', () => {
    const config = (profile: object) => ({ 'jail.config.json': JSON.stringify({ profiles: { p: profile } }) });

    strictJail.it('"unprotect" in the project config: refused (125), or ignored with a message; the hook is not planted', () => {
      const proj = project(s, 'cfg-unprotect', config({ rw: ['.'], unprotect: ['.git/hooks', '.git/config'] }));
      const M = path.join(s.markers, `m${seq}`);
      const n = seq;
      const before = snapshot(proj, ['.git/hooks', '.git/config']);
      const r = run(proj, ['-p', 'p', '--', 'sh', '-c', `printf ${hook(M, 'cfg')} > .git/hooks/pre-commit; git config core.fsmonitor "touch ${M}-cfg-fsmonitor; false"; echo DONE`]);
      if (r.status !== 125) expect(r.stderr).toMatch(/unprotect/);
      expect(snapshot(proj, ['.git/hooks', '.git/config'])).toEqual(before);
      outside(s, proj, 'git status --porcelain; git commit -q --allow-empty -m later');
      expect(fired(s, n)).toEqual([]);
    });

    strictJail.it('"unhide" in the project config: refused (125), or ignored with a message; .env stays hidden', () => {
      const secret = `CFG-SECRET-${Math.random().toString(36).slice(2)}`;
      const proj = project(s, 'cfg-unhide', { ...config({ ro: ['.'], unhide: ['.env'] }), '.env': `API_KEY=${secret}\n` });
      const r = run(proj, ['-p', 'p', '--', 'sh', '-c', 'cat .env; echo DONE']);
      if (r.status !== 125) expect(r.stderr).toMatch(/unhide/);
      expect(printed(r)).not.toContain(secret);
    });

    /** The user's own config (XDG_CONFIG_HOME for this run only), which may lift what a project's may not. */
    const userConfig = (profile: object) => {
      const dir = path.join(s.w.root, `xdg-${++seq}`);
      fs.mkdirSync(path.join(dir, 'jail'), { recursive: true });
      fs.writeFileSync(path.join(dir, 'jail', 'config.json'), JSON.stringify({ profiles: { mine: profile } }));
      execFileSync('chmod', ['-R', 'a+rX', dir]);
      return { ...s.w.env, XDG_CONFIG_HOME: dir };
    };

    strictJail.it('control: the same "unprotect" and "unhide" in the user\'s config do lift them', () => {
      const secret = `USER-SECRET-${Math.random().toString(36).slice(2)}`;
      const proj = project(s, 'user-lift', { '.env': `API_KEY=${secret}\n` });
      const env = userConfig({ rw: [proj], unprotect: [path.join(proj, '.git', 'hooks')], unhide: [path.join(proj, '.env')] });
      const r = jail(s.w, ['-p', 'mine', '--', 'sh', '-c', `printf '#!/bin/sh\\nexit 0\\n# mine\\n' > .git/hooks/pre-push; cat .env; echo DONE`], { cwd: proj, asNobody, env });
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(r.stdout).toContain(secret);
      expect(fs.readFileSync(path.join(proj, '.git', 'hooks', 'pre-push'), 'utf8')).toContain('# mine');
    });

    strictJail.it('"protect" and "hide" in the project config hold', () => {
      const secret = `CFG-HIDDEN-${Math.random().toString(36).slice(2)}`;
      const proj = project(s, 'cfg-narrow', { ...config({ rw: ['.'], protect: ['build.sh'] }), 'build.sh': '#!/bin/sh\necho build\n' });
      const before = snapshot(proj, ['build.sh']);
      const r = run(proj, ['-p', 'p', '--', 'sh', '-c', 'echo evil >> build.sh; echo DONE']);
      expect(r.stdout, printed(r)).toContain('DONE');
      expect(snapshot(proj, ['build.sh'])).toEqual(before);
      const hid = project(s, 'cfg-hide', { ...config({ ro: ['.'], hide: ['private.txt'] }), 'private.txt': `${secret}\n` });
      const h = run(hid, ['-p', 'p', '--', 'sh', '-c', 'cat private.txt; echo DONE']);
      expect(h.stdout, printed(h)).toContain('DONE');
      expect(printed(h)).not.toContain(secret);
    });
  });
});

/** The restore needs room for the quarantine; the command may leave none. */
(IS_ROOT ? strictJail : needs(false, 'mounts a small tmpfs (root)')).describe('a file system the command filled', () => {
  let s: Side;
  let small: string;
  beforeAll(() => {
    s = side('full', false);
    small = path.join(s.w.root, 'small');
    fs.mkdirSync(small);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m,nr_inodes=600', 'tmpfs', small]);
  });
  afterAll(() => {
    spawnSync('umount', [small]);
    removeWorld(s.w);
  });

  strictJail.it('no inodes left for the quarantine: what was planted is still taken off the names that run', () => {
    const proj = path.join(small, 'p');
    fs.mkdirSync(proj);
    sh(proj, `git init -q -b main . && printf '#!/bin/sh\\nexit 0\\n' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit && git commit -q --allow-empty -m init`);
    const M = path.join(s.markers, 'full');
    const before = snapshot(proj, ['.git/hooks', '.envrc', 'sub/.git']);
    const plant =
      `printf ${hook(M, 'hook')} > .git/hooks/pre-commit\n` +
      `echo 'touch ${M}-envrc' > .envrc\n` +
      `mkdir sub && git -C sub init -q && git -C sub config core.fsmonitor "touch ${M}-nested; false"\n` +
      `mkdir fill && i=0 && while true 2>/dev/null > fill/$i; do i=$((i+1)); done\necho DONE`;
    const r = jail(s.w, ['--rw', '.', '--', 'sh', '-c', plant], { cwd: proj, env: { ...s.w.env, XDG_STATE_HOME: path.join(small, 'state') } });
    expect(r.stdout, printed(r)).toContain('DONE');
    // Off the names that run, set aside beside them or removed; the
    // original hook comes back only where there is room for it.
    const after = snapshot(proj, ['.git/hooks/pre-commit', '.envrc', 'sub/.git']);
    expect(after['.envrc']).toBe('absent');
    expect(after['sub/.git']).toBe('absent');
    expect([before['.git/hooks/pre-commit'], 'absent']).toContain(after['.git/hooks/pre-commit']);
    outside(s, proj, '. ./.envrc; git -C sub status --porcelain; git commit -q --allow-empty -m later');
    expect(fs.readdirSync(s.markers).filter((f) => f.startsWith('full'))).toEqual([]);
  });
});

/** The vectors are real: planted without a jail, the user's next action runs
 *  each one. Without this, a marker that never appears proves nothing. */
strictJail.describe('the vectors, planted without a jail, do run (control)', () => {
  let s: Side;
  beforeAll(() => {
    s = side('control', false);
  });
  afterAll(() => removeWorld(s.w));

  const hasNpm = spawnSync('npm', ['--version'], { stdio: 'ignore' }).status === 0;
  strictJail.it.each(vectors.filter((v) => hasNpm || !v.later.startsWith('npm')))('$name', (v) => {
    const proj = project(s, 'ctl', v.files, v.setup);
    const n = seq;
    const M = path.join(s.markers, `m${n}`);
    const p = outside(s, proj, v.plant(M));
    expect(p.status, printed(p)).toBe(0);
    const later = outside(s, proj, v.later);
    expect(fired(s, n), printed(later)).not.toEqual([]);
  });
});

/** A writable tree below a read-only one, deeper than the search from the
 *  read-only tree reaches (or inside its .git): what it holds is the
 *  user's, not the command's, and stays where it is; and it is protected. */
strictJail.describe('a writable tree the search from above does not reach', () => {
  let w: World;
  beforeAll(() => {
    w = makeWorld('protect-deep');
  });
  afterAll(() => removeWorld(w));

  strictJail.it('--ro . --rw a/b/c: a/b/c/.vscode stays in place after a run that does nothing, and cannot be changed', () => {
    const proj = path.join(w.root, 'deep');
    fs.mkdirSync(path.join(proj, 'a', 'b', 'c', '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(proj, 'package.json'), '{}');
    const settings = path.join(proj, 'a', 'b', 'c', '.vscode', 'tasks.json');
    fs.writeFileSync(settings, '{"tasks":[]}');
    const idle = jail(w, ['--ro', '.', '--rw', 'a/b/c', '--', 'true'], { cwd: proj });
    expect(idle.status, printed(idle)).toBe(0);
    expect(idle.stderr).not.toMatch(/changed what runs later/);
    expect(fs.readFileSync(settings, 'utf8')).toBe('{"tasks":[]}');
    const plant = jail(w, ['--ro', '.', '--rw', 'a/b/c', '--', 'sh', '-c', `echo '{"tasks":[{"command":"touch pwned","runOptions":{"runOn":"folderOpen"}}]}' > ${settings}`], { cwd: proj });
    expect(plant.status === 0 || /Read-only|Permission denied/.test(plant.stderr), printed(plant)).toBe(true);
    expect(fs.readFileSync(settings, 'utf8')).toBe('{"tasks":[]}');
  });

  strictJail.it('--ro . --rw .git: the repository keeps its HEAD', () => {
    const proj = path.join(w.root, 'gitrw');
    fs.mkdirSync(proj);
    fs.writeFileSync(path.join(proj, 'package.json'), '{}');
    execFileSync('git', ['init', '-q', proj]);
    const r = jail(w, ['--ro', '.', '--rw', '.git', '--', 'true'], { cwd: proj });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stderr).not.toMatch(/changed what runs later/);
    expect(fs.existsSync(path.join(proj, '.git', 'HEAD'))).toBe(true);
  });
});
