/**
 * --allow-host, as the rest of the run sees it: the proxy's address in
 * the variables tools read, and in the namespace layer a resolv.conf that
 * sends name lookups to jail. Pure: reads through the Host, writes
 * nothing; the servers themselves are src/egress, started by the run.
 */
import type { Host } from './host.js';
import type { Egress, Policy } from './model.js';
import { isWithin } from './paths.js';

type Env = Record<string, string>;

/** The variables that point tools at a proxy: curl, git (libcurl), pip,
 *  Python's requests, Go, Rust's reqwest, Deno and Node 24's fetch with
 *  NODE_USE_ENV_PROXY, and npm's own settings (which beat a project's
 *  .npmrc, so it cannot send npm elsewhere). */
export const PROXY_VARS = ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy', 'npm_config_proxy', 'npm_config_https_proxy'];

/** Variables that would send some hosts around the proxy. Going around it
 *  reaches nothing (the layers refuse it), but fails slowly or obscurely. */
const BYPASS_VARS = ['NO_PROXY', 'no_proxy', 'npm_config_noproxy', 'NPM_CONFIG_NOPROXY'];

/** What the private TMPDIR holds for name lookups: jail's DNS server, one
 *  quick try (it answers at once, or not at all). */
export const RESOLV_CONF = 'nameserver 127.0.0.1\noptions attempts:1 timeout:2\n';

export function proxyUrl(port: number): string {
  return `http://127.0.0.1:${port}`;
}

/**
 * The egress plan for a policy whose --allow-host names a host: the env to
 * set (`explicit` are the names the user set with --env NAME=VALUE, which
 * stay as given), the file for the TMPDIR, and policy.egress. `port` is the
 * proxy's (0 when none is picked: --print-policy).
 */
export function withEgress(policy: Policy, env: Env, tmpDir: string | null, port: number, host: Host): { policy: Policy; files: Array<{ name: string; text: string }> } {
  if (policy.net.hosts.length === 0) return { policy, files: [] };
  const url = proxyUrl(port);
  const explicit = new Set(Object.keys(policy.env.set));
  for (const k of BYPASS_VARS) if (!explicit.has(k)) delete env[k];
  for (const k of PROXY_VARS) if (!explicit.has(k)) env[k] = url;
  if (!explicit.has('NODE_USE_ENV_PROXY')) env.NODE_USE_ENV_PROXY = '1';
  // npm's update check is no job for a jailed run, and a blocked one would
  // be named in the summary as if the command had asked for it.
  if (!explicit.has('npm_config_update_notifier')) env.npm_config_update_notifier = 'false';
  const files: Array<{ name: string; text: string }> = [];
  let resolvConf: Egress['resolvConf'] = null;
  const real = tmpDir === null ? null : resolvConfPath(policy, host);
  if (real !== null) {
    files.push({ name: 'resolv.conf', text: RESOLV_CONF });
    resolvConf = { path: real, source: `${tmpDir}/resolv.conf` };
  }
  const transparentPorts = [...new Set(policy.net.hosts.filter((r) => r.kind === 'name').map((r) => r.port))].sort((a, b) => a - b);
  return { policy: { ...policy, egress: { port, resolvConf, transparentPorts } }, files };
}

/**
 * Where resolv.conf really is, when the view shows it (a grant covers its
 * real path): a symlink to systemd-resolved's stub file is followed there.
 */
function resolvConfPath(policy: Policy, host: Host): string | null {
  const real = host.realpath('/etc/resolv.conf');
  if (real === null || !host.stat(real)?.isFile) return null;
  return policy.grants.some((g) => g.access !== 'list' && isWithin(real, g.path)) ? real : null;
}

/**
 * A run with no way out at all (no host, no port, not --net all): npm
 * would retry every request for over a minute before it fails (EAI_AGAIN,
 * `jail -- npx -y cowsay` took 71 s), and `npm ci` would fail even with
 * everything in its cache. Told it is offline, npm uses its cache and
 * fails at once for what is not there. A value you set with --env wins.
 */
export function offlineNpm(policy: Policy, env: Env): void {
  const n = policy.net;
  if (n.mode !== 'none' || n.connect.length || n.hosts.length) return;
  if (!('npm_config_offline' in policy.env.set)) env.npm_config_offline = 'true';
}
