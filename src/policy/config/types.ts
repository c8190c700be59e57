/** The shapes shared by the config modules. */
import type { Host } from '../host.js';
import type { ProfileOptions } from '../options.js';
import type { ProfileDecl } from './validate.js';

export type Layer = 'built-in' | 'user' | 'project';

export const PROJECT_CONFIG = 'jail.config.json';

export interface ConfigContext {
  host: Host;
  /** A config file's text; null when it does not exist. Refuses (throws
   *  PolicyError) anything but a small regular file, and a symlink unless
   *  `follow`. Defaults to host.readText. */
  readFile?(p: string, opts: { follow: boolean }): string | null;
  /** $XDG_CONFIG_HOME; used only when absolute, as the XDG spec says. */
  xdgConfigHome?: string;
  /** The running node's install prefix: /usr, ~/.nvm/versions/node/v20.x, … */
  nodePrefix: string;
  /** npm's cache: `cache=` in your ~/.npmrc, or ~/.npm. */
  npmCache: string;
  /** The project root when the caller knows it (jail-sh: a dependency's own
   *  package directory); otherwise it is searched for upwards. */
  projectRoot?: string;
}

export interface LoadedConfig {
  /** The nearest ancestor of the working directory with jail.config.json or
   *  package.json (never $HOME or above unless started there); else the
   *  working directory. */
  projectRoot: string;
  /** The project's config file actually used; null when it has none. */
  projectFile: string | null;
  /** The user's config file; null when it does not exist. */
  userFile: string | null;
  /** Where the user's config file is or would be. */
  userConfigPath: string;
  /** Every profile's declarations, lowest layer first. */
  profiles: ReadonlyMap<string, readonly ProfileDecl[]>;
  host: Host;
}

export interface ResolvedProfile {
  options: ProfileOptions;
  /** Lowest first, e.g. ['node (built-in)', 'test (built-in, project /p/jail.config.json)']. */
  chain: string[];
  description?: string;
}

export interface ProfileListing {
  name: string;
  layers: Layer[];
  /** The files declaring it, in layer order (built-ins have none). */
  files: string[];
  description: string;
  extends: string[];
  /** Why using it would fail (e.g. a project grant outside the project). */
  problem?: string;
}
