/**
 * The jailed program's environment: by default everything but secrets and
 * injection hooks. Pure: the caller passes the environment in.
 */
import type { EnvPolicy } from './model.js';
import { nodeOptionsReason } from './nodeoptions.js';
import { tokenLike, valueSecretReason } from './secrets.js';

/** Parts of a name that mark a secret (compared upper-case). */
const SECRET_PARTS = ['TOKEN', 'SECRET', 'PASSWORD', 'PASSWD', 'PASSPHRASE', 'CREDENTIAL', 'API_KEY', 'PRIVATE_KEY', 'APIKEY', '_AUTH', 'SESSION_KEY', 'JWT', 'WEBHOOK', 'COOKIE'];
/** Endings that mark a secret: `MYSQL_PWD`, `GH_PAT`, `SMTP_PASS`, `SENTRY_DSN`, `APP_KEYS`. */
const SECRET_SUFFIXES = ['_KEY', '_KEYS', '_PWD', '_PAT', '_PASS', '_DSN'];
const SECRET_PREFIXES = ['AWS_', 'AZURE_', 'GOOGLE_APPLICATION_CREDENTIALS', 'VAULT_'];
/** Password-manager sessions: 1Password's OP_SESSION_<account>, Bitwarden's
 *  BW_SESSION and other *_SESSION holding a key (not DESKTOP_SESSION=gnome). */
const isSession = (upper: string, value: string) => upper.startsWith('OP_SESSION_') || (upper.endsWith('_SESSION') && tokenLike(value));
/** git's config from the environment (`git -c` passes it on this way): it
 *  carries http.extraHeader, credential helpers and token URLs as readily as
 *  a config file. The whole family goes; git ignores KEY/VALUE without COUNT.
 *  GIT_CONFIG_GLOBAL and GIT_CONFIG_SYSTEM name files, which Landlock governs. */
const isGitConfigEnv = (upper: string) =>
  upper.startsWith('GIT_CONFIG_') && (upper === 'GIT_CONFIG_PARAMETERS' || upper === 'GIT_CONFIG_COUNT' || /^GIT_CONFIG_(?:KEY|VALUE)_\d+$/.test(upper));
/** Bundler's credentials for a gem source, named by its host with `__` for
 *  each dot (`BUNDLE_GEMS__EXAMPLE__COM=user:password`); BUILD__, LOCAL__
 *  and MIRROR__ are settings per gem or source, not credentials. */
const isBundlerCredentials = (upper: string) => upper.startsWith('BUNDLE_') && upper.includes('__') && !/^BUNDLE_(?:BUILD|LOCAL|MIRROR)__/.test(upper);
/** Agents and buses that hand out credentials or run commands outside. */
const SOCKETS = ['SSH_AUTH_SOCK', 'GPG_AGENT_INFO', 'DBUS_SESSION_BUS_ADDRESS', 'GIT_ASKPASS', 'SSH_ASKPASS', 'SUDO_ASKPASS'];
/** Variables that make programs load code. */
const HOOKS = ['LD_PRELOAD', 'LD_AUDIT', 'NODE_REPL_EXTERNAL_MODULE', 'BASH_ENV', 'ENV', 'PROMPT_COMMAND', 'PERL5OPT', 'PYTHONSTARTUP', 'RUBYOPT'];
/** npm's node-options from the environment: npm in the jail turns it into
 *  NODE_OPTIONS for the scripts it runs (npm reads npm_config_* in any case). */
const NPM_NODE_OPTIONS = ['NPM_CONFIG_NODE_OPTIONS', 'NPM_CONFIG_NODE-OPTIONS'];

/** Where TLS clients find extra CA certificates: a path, no secret, and a
 *  run behind a corporate proxy fails without it (AWS_CA_BUNDLE would go
 *  with the AWS_ prefix). Their values still pass the by-value check. */
const CA_BUNDLES = ['AWS_CA_BUNDLE', 'NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE', 'GIT_SSL_CAINFO'];

/** What --clean-env keeps. */
export const CLEAN_ENV_NAMES = ['PATH', 'HOME', 'TERM', 'LANG', 'USER', 'LOGNAME', 'SHELL', 'TZ', 'COLORTERM', 'NO_COLOR'];

/**
 * Why a variable is dropped by default, or null when it passes: by its name
 * (agent sockets, code-loading hooks, git config, secret-looking names,
 * cloud credentials), then by its value whatever the name (secrets.ts:
 * recognisable tokens, URLs with credentials, auth headers).
 */
export function secretReason(name: string, value: string): string | null {
  const upper = name.toUpperCase();
  if (SOCKETS.includes(upper)) return 'agent socket';
  if (HOOKS.includes(upper)) return 'loads code';
  if (upper === 'NODE_OPTIONS' || NPM_NODE_OPTIONS.includes(upper)) {
    const reason = nodeOptionsReason(value);
    if (reason !== null) return reason;
  }
  if (CA_BUNDLES.includes(upper)) return valueSecretReason(value);
  if (isGitConfigEnv(upper)) return 'git config';
  if (isBundlerCredentials(upper)) return 'gem source credentials';
  if (SECRET_SUFFIXES.some((s) => upper.endsWith(s)) || SECRET_PARTS.some((p) => upper.includes(p)) || isSession(upper, value)) return 'secret name';
  if (SECRET_PREFIXES.some((p) => upper.startsWith(p))) return 'cloud credentials';
  return valueSecretReason(value);
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
      (policy.mode === 'all' ? true : policy.mode === 'clean' ? CLEAN_ENV_NAMES.includes(name) || name.startsWith('LC_') : secretReason(name, value) === null);
    if (keep) out[name] = value;
    else dropped.push(name);
  }
  Object.assign(out, policy.set);
  return { env: out, dropped: dropped.sort() };
}
