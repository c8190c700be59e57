/** The real machine behind the Host interface: node:fs and process. */
import fs = require('node:fs');
import os = require('node:os');
import type { DirEntry, Host, Stat } from './policy/host.js';

function toStat(s: fs.Stats): Stat {
  return { isDir: s.isDirectory(), isFile: s.isFile(), isSymlink: s.isSymbolicLink(), mode: s.mode };
}

export function realHost(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Host {
  return {
    cwd,
    home: env.HOME || os.homedir(),
    uid: process.getuid?.() ?? -1,
    path: env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    realpath(p) {
      try {
        return fs.realpathSync.native(p);
      } catch {
        return null;
      }
    },
    stat(p, lstat = false) {
      const s = (lstat ? fs.lstatSync : fs.statSync)(p, { throwIfNoEntry: false });
      return s ? toStat(s) : null;
    },
    readdir(p): DirEntry[] {
      try {
        return fs.readdirSync(p, { withFileTypes: true }).map((d) => ({ name: d.name, isDir: d.isDirectory(), isSymlink: d.isSymbolicLink() }));
      } catch {
        return [];
      }
    },
    readHead(p, n) {
      let fd = -1;
      try {
        fd = fs.openSync(p, 'r');
        const buf = Buffer.alloc(n);
        const len = fs.readSync(fd, buf, 0, n, 0);
        return buf.subarray(0, len).toString('latin1');
      } catch {
        return null;
      } finally {
        if (fd >= 0) fs.closeSync(fd);
      }
    },
    executable(p) {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
  };
}
