/**
 * The architectures the filter supports, found by name. Pure: the caller
 * passes the name (from the addon's probe or process.arch).
 */
import { aarch64 } from './aarch64.js';
import type { Arch } from './types.js';
import { x86_64 } from './x86_64.js';

export { aarch64, x86_64 };
export type { Arch, ArchName } from './types.js';
export { maxSyscall, syscallName, syscallNumber } from './types.js';

export const ARCHES: readonly Arch[] = [x86_64, aarch64];

/** Node's process.arch and the kernel's `uname -m` names. */
const NAMES: Readonly<Record<string, Arch>> = {
  x64: x86_64,
  x86_64: x86_64,
  arm64: aarch64,
  aarch64: aarch64,
};

/** The Arch for 'x64'/'x86_64' or 'arm64'/'aarch64'; undefined for others. */
export function findArch(name: string): Arch | undefined {
  return Object.hasOwn(NAMES, name) ? NAMES[name] : undefined;
}

/** The filter cannot be built for this CPU. */
export class UnsupportedArchError extends Error {
  constructor(readonly arch: string) {
    super(`jail's syscall filter supports x86_64 and aarch64, not ${arch}.`);
    this.name = 'UnsupportedArchError';
  }
}

/** Like findArch, but throws UnsupportedArchError for an unknown name. */
export function archForNode(name: string): Arch {
  const arch = findArch(name);
  if (!arch) throw new UnsupportedArchError(name);
  return arch;
}
