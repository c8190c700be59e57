/**
 * The jail's own failures. Each says what happened in one sentence and, in
 * `hint`, what to do about it. The CLI prints them and exits 125.
 */
export abstract class JailError extends Error {
  abstract readonly kind: string;
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** Bad input: a flag, a path, a config file. */
export class PolicyError extends JailError {
  readonly kind = 'policy';
  constructor(
    message: string,
    hint?: string,
    readonly source?: string,
  ) {
    super(message, hint);
  }
}

/** The kernel cannot enforce what the policy asks for. */
export class UnsupportedKernelError extends JailError {
  readonly kind = 'unsupported-kernel';
  constructor(
    readonly feature: string,
    message: string,
    hint: string,
    readonly abiFound = 0,
    readonly abiNeeded = 0,
  ) {
    super(message, hint);
  }

  /** A Landlock feature newer than the kernel's ABI. */
  static landlock(feature: string, what: string, abiFound: number, abiNeeded: number, linux: string): UnsupportedKernelError {
    const has = abiFound === 0 ? 'no Landlock' : `Landlock ABI ${abiFound}`;
    return new UnsupportedKernelError(
      feature,
      `cannot enforce ${what}: this kernel has ${has}; ${feature} needs ABI ${abiNeeded} (Linux ${linux}).`,
      `upgrade the kernel, or pass --best-effort to run without ${feature}.`,
      abiFound,
      abiNeeded,
    );
  }
}

/** A step of applying the plan failed (from the addon). */
export class ApplyError extends JailError {
  readonly kind = 'apply';
  constructor(
    message: string,
    readonly step: string,
    readonly syscall: string,
    readonly code: string,
    readonly path?: string,
    hint?: string,
  ) {
    super(message, hint);
  }
}

/** The addon could not be loaded: a broken install, or not Linux at all. */
export class NativeLoadError extends JailError {
  readonly kind = 'native-load';
  constructor(
    message: string,
    hint: string,
    /** True off Linux: there is no addon to build, only best effort. */
    readonly unsupportedPlatform = false,
  ) {
    super(message, hint);
  }
}

/** The command cannot be run (126) or found (127). */
export class CommandError extends JailError {
  readonly kind = 'command';
  constructor(
    message: string,
    readonly exitCode: 126 | 127,
  ) {
    super(message);
  }
}

/** This should not happen. */
export class InternalError extends JailError {
  readonly kind = 'internal';
  constructor(message: string) {
    super(message, 'this is a bug in jail; please report it with the command line you used.');
  }
}
