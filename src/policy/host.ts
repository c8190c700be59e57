/**
 * What policy building needs to know about the machine, as an interface so
 * the builder stays pure and is tested with a fake file system.
 * The real one is src/host.ts.
 */
export interface Stat {
  isDir: boolean;
  isFile: boolean;
  isSymlink: boolean;
  mode: number;
}

export interface DirEntry {
  name: string;
  isDir: boolean;
  isSymlink: boolean;
}

export interface Host {
  cwd: string;
  home: string;
  uid: number;
  /** PATH of the invoking environment. */
  path: string;
  /** Resolves symlinks; null when the path does not exist. */
  realpath(p: string): string | null;
  /** Follows symlinks unless lstat. null when missing. */
  stat(p: string, lstat?: boolean): Stat | null;
  readdir(p: string): DirEntry[];
  /** First bytes of a file, null when unreadable. */
  readHead(p: string, n: number): string | null;
  /** access(p, X_OK) for the invoking user. */
  executable(p: string): boolean;
}
