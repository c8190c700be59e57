/**
 * Toolchains under $HOME that PATH names (pyenv shims, cargo, nvm, ~/bin):
 * read and execute on exactly what they need to run, never the home
 * directory itself or a credentials file next to them (~/.cargo holds
 * credentials.toml, so only ~/.cargo/bin is granted).
 */
import type { Host } from './host.js';
import type { PathGrant } from './model.js';
import { isWithin, normalize } from './paths.js';

export function toolchainGrants(host: Host): PathGrant[] {
  const home = normalize(host.home);
  const grants: PathGrant[] = [];
  const seen = new Set<string>();
  const grant = (path: string, why: string) => {
    const real = host.realpath(path);
    const st = real ? host.stat(real) : null;
    if (!real || !st || seen.has(real) || isWithin(home, real)) return;
    seen.add(real);
    grants.push({ path: real, access: 'ro', isDir: st.isDir, source: { kind: 'base', what: `toolchain on PATH: ${why}` } });
  };
  for (const entry of host.path.split(':')) {
    if (!entry.startsWith('/')) continue;
    const dir = host.realpath(entry);
    if (!dir || dir === home || !isWithin(dir, home)) continue;
    const pyenv = pyenvRoot(dir, host);
    const nvm = /^(.*\/versions\/node\/[^/]+)\/bin$/.exec(dir);
    if (pyenv) {
      // The shim is a bash script that runs libexec/pyenv, which reads the
      // `version` file and runs a python from versions/.
      for (const part of ['bin', 'libexec', 'shims', 'plugins', 'pyenv.d', 'versions', 'version']) grant(`${pyenv}/${part}`, `pyenv (${entry})`);
    } else if (nvm) {
      grant(nvm[1]!, `node (${entry})`);
    } else if (dir === `${home}/.cargo/bin`) {
      // rustup's proxies read their toolchains and settings.
      grant(dir, `cargo (${entry})`);
      for (const part of ['toolchains', 'settings.toml', 'update-hashes']) grant(`${home}/.rustup/${part}`, `rustup (${entry})`);
    } else {
      grant(dir, entry);
    }
  }
  return grants;
}

/** The pyenv root for a PATH entry in it (shims, bin, or a plugin's shims). */
function pyenvRoot(dir: string, host: Host): string | null {
  const m = /^(.*?)\/(shims|bin|plugins\/[^/]+\/(shims|bin))$/.exec(dir);
  return m && host.stat(`${m[1]}/libexec/pyenv`) ? m[1]! : null;
}
