/**
 * Every option jail has, in one table. An entry gives the option's name
 * (the camelCase key of the API and of config files, and commander's
 * attribute name), its flag, the kind of value it takes, its help, where it
 * may be used, and what a project's config may do with it. From this table
 * come the commander options (cli/options.ts), the config fields and their
 * validation (config/validate.ts), the project rule (config/project.ts), the
 * profile type and the API's option type (below), and the API's argv
 * (api.ts). Adding an option is one entry here plus its meaning in
 * build.ts and the compilers.
 *
 * Pure data: no imports beyond types, so everything may use it.
 */
import type { PathEntry } from './paths.js';

/**
 * What an option takes:
 * - paths: repeatable path (`--ro PATH`); a trailing `?` makes one optional
 * - switch: `--flag`, off unless given
 * - negated: `--no-flag`, on unless given
 * - choice: one of `choices`
 * - ports: repeatable TCP port or range (`443`, `8000-8100`)
 * - hosts: repeatable `HOST[:PORT]` (`registry.npmjs.org`, `*.example.com:8443`)
 * - unix: repeatable, with an optional value (`--allow-unix [PATH]`)
 * - syscalls: repeatable syscall name
 * - env: repeatable `NAME` or `NAME=VALUE`
 * - fds: repeatable file descriptor number
 * - name: one word (a profile name)
 * - secrets: repeatable `NAME@HOST[,HOST…]` (a variable, and the hosts its
 *   real value may be sent to)
 */
export type Kind = 'paths' | 'switch' | 'negated' | 'choice' | 'ports' | 'hosts' | 'unix' | 'syscalls' | 'env' | 'fds' | 'name' | 'secrets';

/** Where an option may be given: on the command line, in a profile of a
 *  config file, in the library API. */
export type Surface = 'cli' | 'config' | 'api';

/**
 * What a project's config (written by whoever controls the project, maybe
 * the attacker) may do with an option:
 * - inside: paths, which must resolve inside the project
 * - any: anything (the option only narrows, or changes nothing of weight)
 * - never: nothing (a list must stay empty)
 * - { only: v }: only the value v, which narrows (`system: false`)
 * - set-only: `NAME=VALUE` but not `NAME`, which would pass a variable
 *   (maybe a secret) through from the user's environment
 */
export type ProjectRule = 'inside' | 'any' | 'never' | 'set-only' | { only: boolean | string };

export interface OptionSpec {
  kind: Kind;
  /** As commander takes it: `--ro <path>`, `-p, --profile <name>`, `--no-system`. */
  flag: string;
  help: string;
  where: readonly Surface[];
  project: ProjectRule;
  /** For kind choice. */
  choices?: readonly string[];
}

const ALL = ['cli', 'config', 'api'] as const;
const RUN = ['cli', 'api'] as const;
const CLI = ['cli'] as const;

export const OPTIONS = {
  profile: {
    kind: 'name',
    flag: '-p, --profile <name>',
    help: 'start from a named profile (jail profiles lists them); flags add to it',
    where: RUN,
    project: 'any',
  },
  ro: {
    kind: 'paths',
    flag: '--ro <path>',
    help: 'read and execute PATH (repeatable); a trailing ? skips a missing path',
    where: ALL,
    project: 'inside',
  },
  rw: {
    kind: 'paths',
    flag: '--rw <path>',
    help: 'read, write, create and delete under PATH (repeatable); a missing directory inside the working directory is made first',
    where: ALL,
    project: 'inside',
  },
  protect: {
    kind: 'paths',
    flag: '--protect <path>',
    help: 'keep PATH as it is inside a writable tree: read-only, or absent if it does not exist yet (repeatable)',
    where: ALL,
    project: 'inside',
  },
  unprotect: {
    kind: 'paths',
    flag: '--unprotect <path>',
    help: 'lift the default protections at and under PATH (.git/hooks, .husky, …; --print-policy lists them) (repeatable)',
    where: ALL,
    project: 'never',
  },
  hide: {
    kind: 'paths',
    flag: '--hide <path>',
    help: 'make PATH unreadable inside a readable tree (repeatable)',
    where: ALL,
    project: 'inside',
  },
  unhide: {
    kind: 'paths',
    flag: '--unhide <path>',
    help: 'let the command read PATH, hidden by default (.env files) (repeatable)',
    where: ALL,
    project: 'never',
  },
  system: {
    kind: 'negated',
    flag: '--no-system',
    help: 'leave out the system base (/usr, /etc, /proc, /dev/null, …)',
    where: ALL,
    project: { only: false },
  },
  net: {
    kind: 'choice',
    flag: '--net <mode>',
    choices: ['none', 'all'],
    help: 'network: none (default; TCP only to allowed ports) or all',
    where: ALL,
    project: { only: 'none' },
  },
  allowConnect: {
    kind: 'ports',
    flag: '--allow-connect <port>',
    help: 'allow TCP connect to PORT or a range like 8000-8100 (repeatable)',
    where: ALL,
    project: 'never',
  },
  allowHost: {
    kind: 'hosts',
    flag: '--allow-host <host>',
    help: 'allow HTTPS to HOST (repeatable): HOST:PORT for another port, *.HOST for its subdomains; through jail\'s egress proxy, which lets nothing else out',
    where: ALL,
    project: 'never',
  },
  secret: {
    kind: 'secrets',
    flag: '--secret <name@hosts>',
    help:
      'NAME@HOST[,HOST...]: the command sees $NAME as a random placeholder; jail\'s egress proxy puts the real value into ' +
      'requests to those hosts only (headers and URL, HTTPS through a CA made for this run); the hosts are allowed as by --allow-host (repeatable)',
    where: ALL,
    project: 'never',
  },
  allowBind: {
    kind: 'ports',
    flag: '--allow-bind <port>',
    help: 'allow TCP bind to PORT or a range (repeatable)',
    where: ALL,
    project: 'never',
  },
  allowDns: {
    kind: 'switch',
    flag: '--allow-dns',
    help: 'allow UDP for name lookups (all UDP before Landlock ABI 10)',
    where: ALL,
    project: { only: false },
  },
  allowUnix: {
    kind: 'unix',
    flag: '--allow-unix [path]',
    help: 'allow UNIX sockets: all of them, or one socket PATH (Landlock ABI 9)',
    where: ALL,
    project: 'never',
  },
  sshAgent: {
    kind: 'choice',
    flag: '--ssh-agent <mode>',
    choices: ['deny', 'confirm', 'allow'],
    help: "the SSH agent (SSH_AUTH_SOCK): deny (default; none inside), confirm (jail's own agent: it lists your keys, asks you on the terminal before each signature, refuses adding and removing keys), allow (your agent, unasked)",
    where: ALL,
    project: { only: 'deny' },
  },
  allowRawSockets: {
    kind: 'switch',
    flag: '--allow-raw-sockets',
    help: 'allow raw and packet sockets',
    where: ALL,
    project: { only: false },
  },
  allowSysvIpc: {
    kind: 'switch',
    flag: '--allow-sysv-ipc',
    help: "allow System V shared memory, semaphores and message queues: the jail's own (an IPC namespace); without the namespace layer only with --best-effort, and then the machine's",
    where: ALL,
    project: { only: false },
  },
  allowSyscall: {
    kind: 'syscalls',
    flag: '--allow-syscall <name>',
    help: 'remove the deny rule for one syscall (repeatable)',
    where: ALL,
    project: 'never',
  },
  env: {
    kind: 'env',
    flag: '--env <name[=value]>',
    help: 'pass variable NAME through, or set NAME=VALUE (repeatable)',
    where: ALL,
    project: 'set-only',
  },
  envAll: {
    kind: 'switch',
    flag: '--env-all',
    help: 'pass the whole environment, secrets included',
    where: ALL,
    project: { only: false },
  },
  cleanEnv: {
    kind: 'switch',
    flag: '--clean-env',
    help: 'pass only PATH, HOME, TERM, LANG, LC_*, USER, LOGNAME, SHELL, TZ, COLORTERM, NO_COLOR (and --env)',
    where: ALL,
    project: { only: true },
  },
  privateTmp: {
    kind: 'negated',
    flag: '--no-private-tmp',
    help: 'no private TMPDIR',
    where: ALL,
    project: 'any',
  },
  npmCache: {
    kind: 'switch',
    flag: '--npm-cache',
    help: "npm's cache through a private layer: read as it is, written privately; only content that matches its own hash is kept afterwards",
    where: ALL,
    // It narrows: the cache is never more writable than without it.
    project: 'any',
  },
  namespaces: {
    kind: 'negated',
    flag: '--no-namespaces',
    help: 'use only Landlock and seccomp, without the private mount, PID and network namespaces (for comparisons)',
    where: ALL,
    project: { only: true },
  },
  requireNamespaces: {
    kind: 'switch',
    flag: '--require-namespaces',
    help: 'refuse to run (exit 125) where the kernel refuses the namespaces, rather than fall back to Landlock and seccomp alone',
    where: ALL,
    project: 'any',
  },
  toolchains: {
    kind: 'switch',
    flag: '--toolchains',
    help: 'read and execute the toolchains under $HOME that PATH names (pyenv, nvm, ~/.cargo/bin, ~/bin)',
    where: ALL,
    project: { only: false },
  },
  keepCaps: {
    kind: 'switch',
    flag: '--keep-caps',
    help: 'keep capabilities (by default the command runs with none)',
    where: ALL,
    project: { only: false },
  },
  keepFd: {
    kind: 'fds',
    flag: '--keep-fd <n>',
    help: 'pass inherited file descriptor N on to the command (repeatable)',
    where: RUN,
    project: 'never',
  },
  logDenials: {
    kind: 'switch',
    flag: '--log-denials',
    help: 'ask the kernel to audit-log what the jail denies (Landlock ABI 7)',
    where: ALL,
    project: 'any',
  },
  reportDenials: {
    kind: 'switch',
    flag: '--report-denials',
    help: 'once the command ends, list on stderr the paths the jail refused it, with the flag that would allow each',
    where: ALL,
    // Only says more, on the user's own terminal: a project may ask for it.
    project: 'any',
  },
  bestEffort: {
    kind: 'switch',
    flag: '--best-effort',
    help: 'run with what the kernel can enforce, and say on stderr what was left out',
    where: RUN,
    project: 'never',
  },
  printPolicy: {
    kind: 'switch',
    flag: '--print-policy',
    help: 'print the compiled policy and run nothing',
    where: CLI,
    project: 'never',
  },
  json: {
    kind: 'switch',
    flag: '--json',
    help: 'with --print-policy: print JSON',
    where: CLI,
    project: 'never',
  },
  verbose: {
    kind: 'switch',
    flag: '-v, --verbose',
    help: 'say what the jail does on stderr',
    where: CLI,
    project: 'never',
  },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** The table as a list, in help order. */
export const OPTION_NAMES = Object.keys(OPTIONS) as OptionName[];

export function spec(name: OptionName): OptionSpec {
  return OPTIONS[name];
}

/** The long flag of an option: `--profile`, `--no-system`. */
export function longFlag(name: OptionName): string {
  return /--[a-z-]+/.exec(OPTIONS[name].flag)![0];
}

/** The options usable on a surface. */
export function optionsFor(surface: Surface): OptionName[] {
  return OPTION_NAMES.filter((n) => (OPTIONS[n].where as readonly Surface[]).includes(surface));
}

// ------------------------------------------------------------------ types

/** The value an option takes in the API (and after parsing the CLI). */
interface Values {
  paths: PathEntry[];
  switch: boolean;
  negated: boolean;
  choice: string;
  ports: Array<string | number>;
  hosts: string[];
  unix: Array<string | true>;
  syscalls: string[];
  env: string[];
  fds: number[];
  name: string;
  secrets: string[];
}

/** The value an option takes in a config file (JSON). */
interface JsonValues extends Omit<Values, 'paths' | 'unix'> {
  paths: string[];
  unix: true | string[];
}

type Table = typeof OPTIONS;
type ValueOf<S, V> = S extends { kind: 'choice'; choices: readonly (infer C)[] } ? C : S extends { kind: infer K extends keyof V } ? V[K] : never;
type On<S extends Surface, N extends OptionName> = S extends Table[N]['where'][number] ? N : never;

/** The options of a surface, all optional, with their value types. */
export type OptionsOf<S extends Surface> = { -readonly [N in OptionName as On<S, N>]?: ValueOf<Table[N], Values> };

/** What the library API and the CLI (after parsing) give: every option a
 *  run may take. */
export type JailOptions = OptionsOf<'api'>;

/** What a profile holds once loaded: the config surface's options. */
export type ProfileOptions = OptionsOf<'config'>;

/** A profile as a config file writes it. */
export type ProfileJson = {
  /** One line for `jail profiles`. */
  description?: string;
  extends?: string | string[];
} & { -readonly [N in OptionName as On<'config', N>]?: ValueOf<Table[N], JsonValues> };
