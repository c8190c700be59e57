/**
 * File system calls for detect and restore, on byte paths. A name the
 * command made need not be UTF-8, and Node's string paths would decode it
 * lossily (an entry we then could not lstat, so could not remove). Inside
 * src/protect a path is a "byte string": each char one byte (latin1), turned
 * into a Buffer for every call, and into text only to be printed.
 *
 * Nothing here follows a symlink on purpose: each caller lstats first, and
 * nothing jailed runs any more when these are called, so what lstat saw is
 * what the next call meets.
 */
import fs = require('node:fs');

/** A byte string: one char per byte of the real name. */
export type BPath = string;

export const toBytes = (p: string): BPath => Buffer.from(p, 'utf8').toString('latin1');
export const toText = (p: BPath): string => Buffer.from(p, 'latin1').toString('utf8');
export const buf = (p: BPath): Buffer => Buffer.from(p, 'latin1');

export const dirname = (p: BPath): BPath => p.slice(0, p.lastIndexOf('/')) || '/';
export const basename = (p: BPath): BPath => p.slice(p.lastIndexOf('/') + 1);
export const join = (dir: BPath, name: BPath): BPath => (dir === '/' ? `/${name}` : `${dir}/${name}`);

/** The directories above p, shallowest first ('/' left out). */
export function ancestors(p: BPath): BPath[] {
  const out: BPath[] = [];
  for (let i = p.indexOf('/', 1); i > 0; i = p.indexOf('/', i + 1)) out.push(p.slice(0, i));
  return out;
}

/** The same test on byte strings as on text. */
export { isWithin } from '../policy/paths.js';

/** lstat, or undefined when nothing is there (ENOENT, or ENOTDIR: a file
 *  where a directory on the way was). */
export function lstat(p: BPath): fs.BigIntStats | undefined {
  try {
    return fs.lstatSync(buf(p), { bigint: true, throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

export function readdir(p: BPath): BPath[] {
  return fs.readdirSync(buf(p), { encoding: 'buffer' }).map((n) => n.toString('latin1'));
}

/** Names with whether each is a real directory (the kernel's d_type, or
 *  lstat where it gives none: never a symlink's target). */
export function readdirTyped(p: BPath): Array<{ name: BPath; dir: boolean }> {
  return fs.readdirSync(buf(p), { encoding: 'buffer', withFileTypes: true }).map((d) => ({ name: d.name.toString('latin1'), dir: d.isDirectory() }));
}

export function readlink(p: BPath): BPath {
  return fs.readlinkSync(buf(p), { encoding: 'buffer' }).toString('latin1');
}

export type Kind = 'file' | 'dir' | 'symlink' | 'other';

export function kindOf(st: fs.BigIntStats): Kind {
  return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
}

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK } = fs.constants;

/**
 * The content of the regular file `st` describes, or null when it is
 * bigger than `max` or no longer that file. O_NONBLOCK and O_NOFOLLOW: a
 * FIFO or a symlink swapped in can neither hang nor redirect the read
 * (callers lstat first and open only regular files anyway).
 */
export function readRegular(p: BPath, st: fs.BigIntStats, max: number): Buffer | null {
  if (!st.isFile() || st.size > BigInt(max)) return null;
  const fd = fs.openSync(buf(p), O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  try {
    const now = fs.fstatSync(fd, { bigint: true });
    if (!now.isFile() || now.ino !== st.ino || now.dev !== st.dev || now.size > BigInt(max)) return null;
    const out = Buffer.alloc(Number(now.size));
    let n = 0;
    while (n < out.length) {
      const r = fs.readSync(fd, out, n, out.length - n, n);
      if (r === 0) break;
      n += r;
    }
    return n === out.length ? out : out.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** A new regular file (O_EXCL: never through a symlink, never over
 *  anything), with exactly `mode` and, when given, the times. */
export function writeNew(p: BPath, content: Buffer, mode: number, times?: { atimeNs: bigint; mtimeNs: bigint }): void {
  const fd = fs.openSync(buf(p), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    let n = 0;
    while (n < content.length) n += fs.writeSync(fd, content, n, content.length - n);
    fs.fchmodSync(fd, mode & 0o7777);
    if (times) fs.futimesSync(fd, nsToSec(times.atimeNs), nsToSec(times.mtimeNs));
  } finally {
    fs.closeSync(fd);
  }
}

export const nsToSec = (ns: bigint): number => Number(ns) / 1e9;
