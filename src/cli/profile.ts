/** `jail profiles`: the profiles of the config layers, listed or shown. */
import { configContext } from '../policy/assemble.js';
import { listProfiles, loadConfig, resolveProfile } from '../policy/config.js';
import type { Host } from '../policy/host.js';

export function profilesText(host: Host, env: NodeJS.ProcessEnv, show?: string): string {
  const config = loadConfig(configContext(host, { env, nodeExecPath: process.execPath }));
  if (show) {
    const { options, chain } = resolveProfile(config, show);
    return `profile ${show}: ${chain.join(' → ')}\n${JSON.stringify(options, null, 2)}\n`;
  }
  const list = listProfiles(config);
  const w = Math.max(...list.map((p) => p.name.length));
  return list.map((p) => `${p.name.padEnd(w)}  ${p.description ?? ''} [${p.layers.join(', ')}]`).join('\n') + '\n';
}
