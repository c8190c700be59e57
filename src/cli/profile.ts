/**
 * Profiles on the command line: load the config layers (built-in, user,
 * project) only when a profile is used, and put the flags on top.
 */
import fs = require('node:fs');
import path = require('node:path');
import type { JailOptions } from '../policy/build.js';
import { listProfiles, loadConfig, mergeOptions, resolveProfile, type ConfigContext, type LoadedConfig } from '../policy/config.js';
import type { Host } from '../policy/host.js';

export function configContext(host: Host, env: NodeJS.ProcessEnv): ConfigContext {
  const node = host.realpath(process.execPath) ?? process.execPath;
  return {
    host,
    readFile: (p) => {
      try {
        return fs.readFileSync(p, 'utf8');
      } catch {
        return null;
      }
    },
    xdgConfigHome: env.XDG_CONFIG_HOME || undefined,
    nodePrefix: path.dirname(path.dirname(node)),
    npmCache: env.npm_config_cache || path.join(host.home, '.npm'),
  };
}

/** The profile's options with the flags given on the command line on top. */
export function withProfile(name: string, flags: JailOptions, host: Host, env: NodeJS.ProcessEnv): { options: JailOptions; chain: string[] } {
  const config = loadConfig(configContext(host, env));
  const { options, chain } = resolveProfile(config, name);
  return { options: mergeOptions(options, flags), chain };
}

export function hasProfile(config: LoadedConfig, name: string): boolean {
  return config.profiles.has(name);
}

export function profilesText(host: Host, env: NodeJS.ProcessEnv, show?: string): string {
  const config = loadConfig(configContext(host, env));
  if (show) {
    const { options, chain } = resolveProfile(config, show);
    return `profile ${show}: ${chain.join(' → ')}\n${JSON.stringify(options, null, 2)}\n`;
  }
  const list = listProfiles(config);
  const w = Math.max(...list.map((p) => p.name.length));
  return list.map((p) => `${p.name.padEnd(w)}  ${p.description ?? ''} [${p.layers.join(', ')}]`).join('\n') + '\n';
}
