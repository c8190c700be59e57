/**
 * --secret NAME@HOST[,HOST…]: the jailed program sees NAME as a random
 * placeholder of the same shape; the supervisor's egress proxy puts the
 * real value, which it reads by NAME from its own environment, into
 * requests to the listed hosts (src/egress/intercept.ts). Pure: the
 * randomness comes in as an argument, the real value only to take its
 * shape.
 */
import { parseAllowHost, type HostRule } from '../egress/rules.js';
import { PolicyError } from '../errors.js';
import { printable } from '../text.js';
import type { Policy, Secret } from './model.js';

type Env = Record<string, string | undefined>;

const FLAG = '--secret';
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What the CA certificate of the run is called in the private TMPDIR,
 *  alone and with the system's bundle. */
export const CA_FILE = 'jail-ca.pem';
export const CA_BUNDLE_FILE = 'ca-bundle.pem';

/** Variables that name a CA bundle for the tools that read one: Node (the
 *  CA alone, added to its own store), OpenSSL-based tools, Python's
 *  requests, curl, git, npm (the bundle: they replace their store with it). */
export const CA_ENV: Record<string, typeof CA_FILE | typeof CA_BUNDLE_FILE> = {
  NODE_EXTRA_CA_CERTS: CA_FILE,
  SSL_CERT_FILE: CA_BUNDLE_FILE,
  REQUESTS_CA_BUNDLE: CA_BUNDLE_FILE,
  CURL_CA_BUNDLE: CA_BUNDLE_FILE,
  GIT_SSL_CAINFO: CA_BUNDLE_FILE,
  npm_config_cafile: CA_BUNDLE_FILE,
};

/** `NAME@HOST[,HOST…]`, checked (hosts as --allow-host reads them). */
export function parseSecret(given: string): { name: string; hosts: HostRule[] } {
  const at = given.indexOf('@');
  const name = at < 0 ? given : given.slice(0, at);
  const shown = JSON.stringify(printable(given));
  if (at < 0 || !NAME.test(name)) {
    throw new PolicyError(
      `${FLAG} ${shown}: ${at < 0 ? 'no host given' : 'not a variable name before @'}.`,
      `write ${FLAG} NAME@HOST, e.g. ${FLAG} ANTHROPIC_API_KEY@api.anthropic.com (several hosts: NAME@a.example,b.example).`,
    );
  }
  const list = given.slice(at + 1).split(',');
  if (list.some((h) => h.trim() === '')) throw new PolicyError(`${FLAG} ${shown}: an empty host in the list.`, `separate hosts with single commas: ${FLAG} ${name}@a.example,b.example.`);
  const hosts = list.map((h) => {
    try {
      return parseAllowHost(h.trim());
    } catch (e) {
      if (!(e instanceof PolicyError)) throw e;
      throw new PolicyError(`${FLAG} ${shown}: ${e.message.replace(/^--allow-host /, 'host ')}`, e.hint);
    }
  });
  return { name, hosts };
}

/** A prefix a tool may check (`sk-ant-`, `ghp_`, `github_pat_`, `xoxb-`):
 *  up to four leading parts of letters (digits after the first) ending in
 *  `-` or `_`. */
const PREFIX = /^(?:[A-Za-z][A-Za-z0-9]{0,9}[-_]){1,4}/;
const ALPHABETS = ['abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', '0123456789'];

/**
 * A placeholder of the real value's shape: the same known prefix and
 * length, every other letter or digit replaced by a random one of its
 * class (lower, upper, digit); other characters (`-`, `_`, `.`) stay.
 * `random(n)` gives n random bytes. A prefix that would leave fewer than
 * 16 characters to draw is shortened, then dropped.
 */
export function placeholderFor(real: string, random: (n: number) => Uint8Array): string {
  const prefix = keptPrefix(real);
  const rest = real.slice(prefix.length);
  // Two bytes a character: the modulo bias of 65536 over 26 is negligible.
  const bytes = random(rest.length * 2);
  let out = prefix;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]!;
    const alphabet = ALPHABETS.find((a) => a.includes(c));
    out += alphabet ? alphabet[((bytes[2 * i]! << 8) | bytes[2 * i + 1]!) % alphabet.length] : c;
  }
  return out;
}

/** The known prefix a placeholder keeps: shortened, then dropped, when it
 *  would leave fewer than 16 characters to draw. */
function keptPrefix(real: string): string {
  let prefix = PREFIX.exec(real)?.[0] ?? '';
  while (prefix && real.length - prefix.length < 16) prefix = PREFIX.exec(prefix.slice(0, -1))?.[0] ?? '';
  return prefix;
}

/** Letters and digits a placeholder must draw at least: with fewer, it
 *  could be the value itself (always, for a value of none). */
const MIN_DRAWN = 8;

/**
 * --secret in the policy: each NAME's placeholder in `env` (whatever the
 * filter or --env passed: the real value never goes in), its hosts allowed
 * as by --allow-host, the CA variables naming files in the private TMPDIR
 * (written by the run, which makes the CA). `fromFlags` are the values
 * given on the command line or the API: NAME unset there is an error; in a
 * profile, the secret is left out with a note (an OAuth login has no key).
 */
export function withSecrets(
  policy: Policy,
  given: readonly string[],
  fromFlags: ReadonlySet<string>,
  invoking: Env,
  random: ((n: number) => Uint8Array) | undefined,
): { policy: Policy; notes: string[] } {
  if (given.length === 0) return { policy, notes: [] };
  if (policy.net.mode === 'all') {
    throw new PolicyError(`${FLAG} ${given[0]} needs jail's egress proxy, and --net all lets everything out around it.`, 'drop --net all; the secret\'s hosts are allowed, and --allow-host names any others.');
  }
  if (!policy.privateTmp) {
    throw new PolicyError(`${FLAG} ${given[0]} needs the private TMPDIR, where the command finds the certificate of jail's CA.`, 'drop --no-private-tmp.');
  }
  // The real value is in jail's own memory and environment (and in the
  // namespace layer's init, a copy of it). A command that keeps its
  // capabilities (root's CAP_SYS_PTRACE) can read them: /proc/<pid>/environ.
  if (!policy.dropCaps) {
    throw new PolicyError(`${FLAG} ${given[0]} with --keep-caps: a command that keeps its capabilities can read jail's own memory, where the real value is.`, 'drop --keep-caps.');
  }
  const notes: string[] = [];
  const secrets: Secret[] = [];
  const hosts = [...policy.net.hosts];
  for (const g of given) {
    const { name, hosts: rules } = parseSecret(g);
    const real = invoking[name];
    if (real === undefined || real === '') {
      if (fromFlags.has(g)) {
        throw new PolicyError(`${FLAG} ${printable(g)}: ${name} is ${real === undefined ? 'not set' : 'empty'} in this environment, so there is no value to send.`, `export ${name} first, or drop ${FLAG} ${name}.`);
      }
      notes.push(`${FLAG} ${printable(g)} (from the profile) left out: ${name} is not set here, so the command has none (the tool needs a login of its own).`);
      continue;
    }
    const seen = secrets.find((s) => s.name === name);
    if (seen) {
      for (const r of rules) if (!seen.hosts.some((h) => sameRule(h, r))) seen.hosts.push(r);
    } else {
      if ((real.slice(keptPrefix(real).length).match(/[A-Za-z0-9]/g) ?? []).length < MIN_DRAWN) {
        throw new PolicyError(
          `${FLAG} ${printable(g)}: ${name} has too few letters and digits (fewer than ${MIN_DRAWN}) for a placeholder of its shape, which could then be the value itself.`,
          `--secret is for API keys and tokens; pass a short password some other way.`,
        );
      }
      // Without randomness (--print-policy) the shape alone: never the value.
      const placeholder = placeholderFor(real, random ?? ((n) => new Uint8Array(n)));
      secrets.push({ name, placeholder, hosts: [...rules], given: g });
    }
    for (const r of rules) if (!hosts.some((h) => sameRule(h, r))) hosts.push(r);
  }
  if (secrets.length === 0) return { policy, notes };
  return { policy: { ...policy, net: { ...policy.net, hosts }, secrets }, notes };
}

/** The environment with every secret's placeholder, the CA variables, and
 *  no other variable that holds a real value (`--env-all`, a copy under
 *  another name). Returns the names dropped. */
export function secretEnv(policy: Policy, env: Record<string, string>, tmpDir: string, invoking: Env): string[] {
  const secrets = policy.secrets ?? [];
  if (secrets.length === 0) return [];
  const dropped: string[] = [];
  const reals = secrets.map((s) => invoking[s.name]!).filter((v) => v.length >= 4);
  for (const [k, v] of Object.entries(env)) {
    if (secrets.some((s) => s.name === k)) continue;
    if (reals.some((r) => v.includes(r))) {
      delete env[k];
      dropped.push(k);
    }
  }
  for (const s of secrets) env[s.name] = s.placeholder;
  for (const [k, file] of Object.entries(CA_ENV)) env[k] = `${tmpDir}/${file}`;
  return dropped;
}

function sameRule(a: HostRule, b: HostRule): boolean {
  return a.host === b.host && a.port === b.port && a.wildcard === b.wildcard;
}
