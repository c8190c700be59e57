/**
 * jail-sh: npm's script-shell. npm runs `<script-shell> -c '<script>'` in
 * the package's directory with npm_lifecycle_event set. Install-time scripts
 * of dependencies (the supply-chain threat) run with the npm-install
 * profile; the project's own scripts with the profile of the same name when
 * there is one, else the default profile.
 */

/** The events npm runs when a package is installed. */
const INSTALL_EVENTS = new Set(['preinstall', 'install', 'postinstall', 'prepare', 'preprepare', 'postprepare']);

/** Which profile a script gets. `hasProfile` asks the config. */
export function profileForScript(event: string | undefined, cwd: string, hasProfile: (name: string) => boolean): string {
  const isDependency = cwd.split('/').includes('node_modules');
  if (isDependency) return INSTALL_EVENTS.has(event ?? '') ? 'npm-install' : 'default';
  return event && hasProfile(event) ? event : 'default';
}
