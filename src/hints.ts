/**
 * What jail says after a run that failed in a way the command's own message
 * does not explain: npm's cache read-only in the fallback, the network off
 * for npm, a toolchain under $HOME that is not granted (126, 127). The same
 * lines from the `jail` command and from the library's in-process spawn().
 */
import { realHost } from './host.js';
import type { JailPlan } from './plan.js';
import { isWithin } from './policy/paths.js';

/** What the hints read of a prepared run (a Prepared has it all; the CLI's
 *  stored plans keep just this). */
export interface HintInput {
  target: { argv: readonly string[] };
  env: Record<string, string | undefined>;
  options: { toolchains?: boolean };
  command: { file: string; chain: readonly string[] };
  policy: { npmCache: unknown };
}

/** The hints for a run of `p` that ended with `status` under the plan that
 *  ran (a fallback's, when the namespace layer was refused); each a
 *  message without the `jail: ` prefix. */
export function afterRunHints(p: HintInput, ran: Pick<JailPlan, 'layer' | 'fallback'>, status: number): string[] {
  if (status === 0) return [];
  const out: string[] = [];
  const given = p.target.argv[0] ?? '';
  const tool = given.slice(given.lastIndexOf('/') + 1);
  // npm blames "root-owned files" for a cache it cannot write: say why.
  if (ran.layer === 'landlock' && p.policy.npmCache && /^(npm|npx)$/.test(tool)) {
    out.push(
      `npm's cache is read-only in this layer (Landlock and seccomp only: ${ran.fallback ?? 'no namespaces'}), so anything that must write to it fails (a cold install, a new npx package).\n` +
        '  hint: install once outside the jail (or where user namespaces are allowed) to fill the cache, then run this again; or pass --rw ~/.npm, which lets the command plant code that npx runs later.',
    );
  }
  if (p.env.npm_config_offline === 'true' && /^(npm|npx|pnpm|yarn)$/.test(tool)) {
    out.push('the network is off in this run, so npm could use only its cache (npm_config_offline=true).\n  hint: --allow-host registry.npmjs.org lets it reach the registry, and nothing else.');
  }
  const hint = status === 126 || status === 127 ? toolchainHint(p, status) : null;
  if (hint) out.push(hint);
  return out;
}

/**
 * A command from a toolchain under $HOME (a pyenv shim, an nvm node) runs,
 * but what it runs next there (~/.pyenv/libexec/pyenv) is not granted: the
 * shell says "Permission denied" or "not found" (126, 127) and nothing
 * names the jail. When the command or its interpreter lies under $HOME,
 * say which flag grants the toolchains.
 */
function toolchainHint(p: HintInput, status: number): string | null {
  if (p.options.toolchains) return null;
  const host = realHost(p.env);
  const homes = [host.home, host.realpath(host.home) ?? host.home].filter((h) => h !== '/' && h !== '');
  const under = [p.command.file, ...p.command.chain].find((f) => homes.some((h) => isWithin(f, h)));
  if (under === undefined) return null;
  return (
    `status ${status}, a shell's "cannot run" or "not found": ${under} lies under $HOME, and what it runs from there may not be granted.\n` +
    `  hint: --toolchains grants the toolchains under $HOME that PATH names (pyenv, nvm, ~/.cargo/bin); or grant the tool's directory with --ro.`
  );
}
