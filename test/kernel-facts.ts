/**
 * What the kernel under the tests can do, probed once per run by
 * test/global-setup.ts and handed to test files with vitest's
 * provide/inject (see test/integration/harness.ts: `kernel`, `needsAbi`).
 *
 * JAIL_LANDLOCK_ABI caps the ABI exactly as the CLI does
 * (src/native/apply.ts probe(abiCap): min(found, cap)), so
 * `JAIL_LANDLOCK_ABI=3 npm test` tests as on a Linux 6.2 kernel.
 */
import * as path from 'node:path';

export interface KernelFacts {
  /** The Landlock ABI the jail uses: the kernel's, lowered by JAIL_LANDLOCK_ABI. */
  landlockAbi: number;
  /** The ABI the kernel itself reports (0: no Landlock). */
  landlockAbiFound: number;
  /** JAIL_LANDLOCK_ABI as given, or null when unset. */
  abiCap: number | null;
  /** Why Landlock is missing: 'ENOSYS' (not built in), 'EOPNOTSUPP' (disabled), or null. */
  landlockError: string | null;
  seccomp: boolean;
  /** uname -r */
  release: string;
  /** Why the addon did not load (off Linux, or not built); then there are no facts. */
  addonError: string | null;
  /** The namespace layer is in force (the probe's attempt worked, and
   *  JAIL_NAMESPACES is not off); else why not. */
  namespaces: { ok: boolean; why: string | null };
}

declare module 'vitest' {
  export interface ProvidedContext {
    kernel: KernelFacts;
  }
}

export const REPO = path.resolve(__dirname, '..');

/** JAIL_LANDLOCK_ABI, read as the CLI reads it (src/cli/main.ts abiCap). */
export function parseAbiCap(v: string | undefined): number | null {
  if (v === undefined || v === '') return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`JAIL_LANDLOCK_ABI=${v}: not an ABI number; set it to a whole number such as 3, or unset it.`);
  return n;
}

/** Load the addon this repository builds and ask the kernel. */
export function probeKernel(env: NodeJS.ProcessEnv = process.env): KernelFacts {
  const abiCap = parseAbiCap(env.JAIL_LANDLOCK_ABI);
  const none = { landlockAbi: 0, landlockAbiFound: 0, abiCap, landlockError: null, seccomp: false, release: 'unknown', namespaces: { ok: false, why: 'no addon' } };
  if (process.platform !== 'linux') return { ...none, addonError: `not Linux (${process.platform})` };
  let p: { landlockAbi: number; landlockError: string | null; seccomp: boolean; release?: string; namespaces?: { ok: boolean; errno?: number; step?: string | null } };
  try {
    p = (require('node-gyp-build') as (dir: string) => { probe(): typeof p })(REPO).probe();
  } catch (e) {
    return { ...none, addonError: `the addon did not load: ${(e as Error).message.split('\n')[0]}; build it with \`npx node-gyp rebuild\`` };
  }
  return {
    landlockAbi: abiCap === null ? p.landlockAbi : Math.min(p.landlockAbi, abiCap),
    landlockAbiFound: p.landlockAbi,
    abiCap,
    landlockError: p.landlockError,
    seccomp: p.seccomp,
    namespaces:
      env.JAIL_NAMESPACES === 'off'
        ? { ok: false, why: 'JAIL_NAMESPACES=off' }
        : p.namespaces?.ok
          ? { ok: true, why: null }
          : { ok: false, why: p.namespaces ? `refused (${p.namespaces.step ?? ''} errno ${p.namespaces.errno ?? '?'})` : 'the addon has no namespace layer' },
    release: p.release ?? 'unknown',
    addonError: null,
  };
}

/** "Landlock ABI 3 (the kernel's 7, capped by JAIL_LANDLOCK_ABI=3)", for skip reasons and the run's header. */
export function describeKernel(k: KernelFacts): string {
  if (k.addonError) return k.addonError;
  const abi = (n: number) => (n === 0 ? `no Landlock${k.landlockError ? ` (${k.landlockError})` : ''}` : `Landlock ABI ${n}`);
  const capped = k.abiCap !== null && k.abiCap < k.landlockAbiFound;
  return `${abi(k.landlockAbi)}${capped ? ` (the kernel's ${k.landlockAbiFound}, capped by JAIL_LANDLOCK_ABI=${k.abiCap})` : ''}; namespaces ${k.namespaces.ok ? 'on' : `off: ${k.namespaces.why}`}`;
}
