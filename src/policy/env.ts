/**
 * The jailed program's environment: by default everything but secrets and
 * injection hooks. Pure: the caller passes the environment in.
 */
import type { EnvPolicy } from './model.js';

/** Parts of a name that mark a secret (compared upper-case). */
const SECRET_PARTS = ['TOKEN', 'SECRET', 'PASSWORD', 'PASSWD', 'CREDENTIAL', 'API_KEY', 'PRIVATE_KEY', 'APIKEY', '_AUTH', 'SESSION_KEY'];
const SECRET_PREFIXES = ['AWS_', 'AZURE_', 'GOOGLE_APPLICATION_CREDENTIALS', 'VAULT_'];
/** Agents and buses that hand out credentials or run commands outside. */
const SOCKETS = ['SSH_AUTH_SOCK', 'GPG_AGENT_INFO', 'DBUS_SESSION_BUS_ADDRESS', 'GIT_ASKPASS', 'SSH_ASKPASS', 'SUDO_ASKPASS'];
/** Variables that make programs load code. */
const HOOKS = ['LD_PRELOAD', 'LD_AUDIT', 'BASH_ENV', 'ENV', 'PROMPT_COMMAND', 'PERL5OPT', 'PYTHONSTARTUP', 'RUBYOPT'];
/** NODE_OPTIONS flags that load code. */
const NODE_LOADERS = /(^|\s)(-r|--require|--import|--loader|--experimental-loader|--experimental-policy|--env-file)(=|\s|$)/;
/** A URL with a password in it: postgres://user:pass@host, https://x:tok@… */
const URL_CREDENTIALS = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/i;

/** What --clean-env keeps. */
const MINIMAL = ['PATH', 'HOME', 'TERM', 'LANG', 'USER', 'LOGNAME', 'SHELL', 'TZ', 'COLORTERM', 'NO_COLOR'];

/** Why a variable is dropped by default, or null when it passes. */
export function secretReason(name: string, value: string): string | null {
  const upper = name.toUpperCase();
  if (SOCKETS.includes(upper)) return 'agent socket';
  if (HOOKS.includes(upper)) return 'loads code';
  if (upper === 'NODE_OPTIONS' && NODE_LOADERS.test(value)) return 'loads code';
  if (upper.endsWith('_KEY') || SECRET_PARTS.some((p) => upper.includes(p))) return 'secret name';
  if (SECRET_PREFIXES.some((p) => upper.startsWith(p))) return 'cloud credentials';
  if (URL_CREDENTIALS.test(value)) return 'URL with a password';
  return null;
}

export interface EnvResult {
  env: Record<string, string>;
  /** Names left out, never their values. */
  dropped: string[];
}

export function filterEnv(env: Record<string, string | undefined>, policy: EnvPolicy): EnvResult {
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const keep =
      policy.pass.includes(name) ||
      (policy.mode === 'all' ? true : policy.mode === 'clean' ? MINIMAL.includes(name) || name.startsWith('LC_') : secretReason(name, value) === null);
    if (keep) out[name] = value;
    else dropped.push(name);
  }
  Object.assign(out, policy.set);
  return { env: out, dropped: dropped.sort() };
}
