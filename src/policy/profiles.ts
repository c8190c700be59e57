/**
 * The built-in profiles: a table in the config files' own JSON shape, with
 * `{project}`, `{home}`, `{nodePrefix}` and `{npmCache}` in paths, made
 * concrete for one machine by builtinProfiles(). config.ts validates and
 * merges them like any other layer, below the user's and the project's.
 *
 * None of them grants $HOME or anything in it that holds secrets: ~/.npmrc
 * (registry tokens), ~/.ssh, ~/.aws and the like stay out. The C/C++
 * toolchain that node-gyp needs (cc, make, python3, headers) lives in /usr,
 * which the system base already grants read-only.
 */

import { OPTIONS, type ProfileJson } from './options.js';

export type { ProfileJson };

/** What the built-ins are made of on this machine. */
export interface BuiltinContext {
  projectRoot: string;
  home: string;
  /** The running node's install prefix: /usr, ~/.nvm/versions/node/v20.x, … */
  nodePrefix: string;
  /** npm's cache: $npm_config_cache or ~/.npm. */
  npmCache: string;
}

const BUILTINS: Readonly<Record<string, Readonly<ProfileJson>>> = {
  'read-only': {
    description: 'read the project; write nothing',
    ro: ['{project}'],
  },
  node: {
    description: "what node, npm and npx need: the node install and the project read-only, npm's cache through a private layer (never ~/.npmrc)",
    ro: ['{nodePrefix}', '{project}'],
    // Not `rw: ['{npmCache}']`: what a jailed program writes there, a later
    // unjailed npx runs. The cache is read as it is; writes go to a private
    // layer, and only content that hashes to its name is kept.
    npmCache: true,
    // pyenv's python3 shim (node-gyp), nvm's node, ~/.cargo/bin: runnable.
    toolchains: true,
  },
  'npm-install': {
    description:
      'npm install/ci: the project read-write (install scripts write node_modules), the npm cache, node-gyp headers, ' +
      'and the npm registry (registry.npmjs.org, through jail\'s egress proxy; nothing else)',
    extends: 'node',
    rw: ['{project}'],
    // node-gyp's header cache; the compilers themselves are in /usr (system base).
    ro: ['{home}/.node-gyp?', '{home}/.cache/node-gyp?'],
    net: 'none',
    allowHost: ['registry.npmjs.org'],
  },
  test: {
    description: "test runners: the project read-only, its coverage/ and node_modules/.vite and .cache read-write (create coverage/ once: it is written only if it exists)",
    extends: 'node',
    ro: ['{project}'],
    rw: ['{project}/coverage?', '{project}/node_modules/.vite?', '{project}/node_modules/.cache?'],
  },
  none: {
    description: 'nothing beyond the system base and the command itself (what the library API starts from)',
  },
  default: {
    description: "what `jail -- cmd` uses without -p, --ro or --rw: read the project, write nothing (npm's cache through a private layer), with the node runtime",
    extends: ['read-only', 'node'],
  },
  // Agent CLIs (README "Jail a coding agent"). Learned from the packages
  // themselves (@anthropic-ai/claude-code 2.1, @openai/codex 0.171: native
  // binaries that read HTTPS_PROXY and a CA bundle from the environment).
  // Their login tokens stay hidden: the API key goes through --secret, so
  // the agent holds a placeholder worth nothing outside this run.
  claude: {
    description:
      'Claude Code: the project read-write (protections apply), ~/.claude and ~/.claude.json read-write without ~/.claude/.credentials.json, ' +
      'ANTHROPIC_API_KEY as a placeholder (--secret), api.anthropic.com',
    extends: 'node',
    rw: ['{project}', '{home}/.claude?', '{home}/.claude.json?'],
    // The native installer's binary (~/.local/bin/claude links here).
    ro: ['{home}/.local/share/claude?'],
    hide: ['{home}/.claude/.credentials.json?'],
    // What Claude Code runs later, unjailed: hooks, apiKeyHelper and the
    // permission lists in its settings (a project's .claude is protected
    // by default already).
    protect: ['{home}/.claude/settings.json', '{home}/.claude/settings.local.json'],
    net: 'none',
    secret: ['ANTHROPIC_API_KEY@api.anthropic.com'],
    allowHost: ['api.anthropic.com'],
  },
  codex: {
    description:
      'Codex CLI: the project read-write (protections apply), ~/.codex read-write without ~/.codex/auth.json, ' +
      'OPENAI_API_KEY as a placeholder (--secret), api.openai.com',
    extends: 'node',
    rw: ['{project}', '{home}/.codex?'],
    hide: ['{home}/.codex/auth.json?'],
    // MCP servers and the notify command Codex runs later, unjailed.
    protect: ['{home}/.codex/config.toml'],
    net: 'none',
    secret: ['OPENAI_API_KEY@api.openai.com'],
    allowHost: ['api.openai.com'],
  },
};

/** The built-in profiles' names and descriptions, as written (placeholders and all). */
export const BUILTIN_PROFILES = BUILTINS;

/**
 * Built-ins that grant what is yours beyond the runtime and the project:
 * the coding agents' state in $HOME, read-write, and their API key (a
 * placeholder that works at the API). jail-sh does not run a project's
 * script with a project-only profile that extends one of them (cli/main.ts
 * scriptShell), as it does not for your user profiles: a hostile
 * repository's `"lint": { "extends": "claude" }` would otherwise hand
 * `npm run lint` your ~/.claude and API key, unasked.
 */
export const YOUR_GRANTS: ReadonlySet<string> = new Set(['claude', 'codex']);

const PLACEHOLDER = /\{(project|home|nodePrefix|npmCache)\}/g;

/** The built-ins with this machine's paths filled in. */
export function builtinProfiles(ctx: BuiltinContext): Map<string, ProfileJson> {
  const values: Record<string, string> = {
    project: trimSlash(ctx.projectRoot),
    home: trimSlash(ctx.home),
    nodePrefix: trimSlash(ctx.nodePrefix),
    npmCache: trimSlash(ctx.npmCache),
  };
  // A replacer function: `$&` in a path must not be read as a pattern.
  const fill = (p: string) => p.replace(PLACEHOLDER, (_, key: string) => values[key] ?? '') || '/';
  const out = new Map<string, ProfileJson>();
  for (const [name, spec] of Object.entries(BUILTINS)) {
    // Every path option, from the registry: a new one in a built-in is
    // filled in as well.
    const filled: Record<string, unknown> = { ...spec };
    for (const [key, value] of Object.entries(spec)) {
      if (Array.isArray(value) && (OPTIONS as Record<string, { kind: string }>)[key]?.kind === 'paths') filled[key] = (value as string[]).map(fill);
    }
    out.set(name, filled as ProfileJson);
  }
  return out;
}

function trimSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}
