/**
 * The real host's looks (src/host.ts): what is not there is null; what
 * cannot be looked at is a refusal that names the path (exit 125 from the
 * CLI), with the errno's code for callers that skip it (the PATH search).
 */
import fs = require('node:fs');
import os = require('node:os');
import path = require('node:path');
import { afterAll, describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.js';
import { realHost, tmpdirOf } from '../../src/host.js';
import { statOnPath } from '../../src/policy/command.js';

describe('the real host looking at a path', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-host-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(`${dir}/file`, 'x');
  fs.symlinkSync(`${dir}/loop`, `${dir}/loop`);
  const host = realHost(process.env, dir);

  it('is null for what is not there: missing, or below a file (ENOTDIR)', () => {
    expect(host.stat(`${dir}/missing`)).toBeNull();
    expect(host.stat(`${dir}/file/below`)).toBeNull();
    expect(host.stat(`${dir}/file/below`, true)).toBeNull();
    expect(host.identify(`${dir}/file/below`)).toBeNull();
    expect(host.readText(`${dir}/file/below`)).toBeNull(); // a config file looked for below a file
  });
  it('refuses what it cannot look at, naming the path and the errno (a symlink loop: ELOOP)', () => {
    let err: unknown;
    try {
      host.stat(`${dir}/loop/x`);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    expect((err as PolicyError).message.startsWith(`cannot look at ${dir}/loop/x: `)).toBe(true);
    expect((err as PolicyError).message).toMatch(/\(ELOOP\)\.$/);
    expect((err as PolicyError).hint).toMatch(/^run jail as a user who can reach it/);
    expect((err as { code?: string }).code).toBe('ELOOP');
    // A config file looked for there: the same refusal.
    expect(() => host.readText(`${dir}/loop/x`)).toThrow(/^cannot look at .*\(ELOOP\)\.$/);
    // The PATH search skips such an entry, as sh does.
    expect(statOnPath(`${dir}/loop/x`, host)).toBeNull();
  });
});

describe('tmpdirOf(): os.tmpdir() without loading node:os', () => {
  it('agrees with os.tmpdir() for TMPDIR, TMP, TEMP, none, empty values and trailing slashes', () => {
    const keys = ['TMPDIR', 'TMP', 'TEMP'] as const;
    const saved = keys.map((k) => process.env[k]);
    const cases: Array<Partial<Record<(typeof keys)[number], string>>> = [
      {}, { TMPDIR: '/a' }, { TMPDIR: '/a/' }, { TMPDIR: '/' }, { TMPDIR: '//' }, { TMPDIR: '', TMP: '/b//' },
      { TMP: '/b' }, { TEMP: '/c/' }, { TMP: '', TEMP: '' }, { TMPDIR: 'rel/' }, { TMPDIR: '/x', TMP: '/y', TEMP: '/z' },
    ];
    try {
      for (const c of cases) {
        for (const k of keys) {
          if (c[k] === undefined) delete process.env[k];
          else process.env[k] = c[k];
        }
        expect([c, tmpdirOf(process.env)]).toEqual([c, os.tmpdir()]);
      }
    } finally {
      keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    }
  });
});

describe('realHost().self', () => {
  it("names where the loader looks for the addon (build/, prebuilds/) even where they are not", () => {
    const self = realHost().self;
    const pkg = fs.realpathSync(path.join(__dirname, '..', '..'));
    expect(self).toContain(path.join(pkg, 'build'));
    expect(self).toContain(path.join(pkg, 'prebuilds'));
    expect(self).toContain(path.join(pkg, 'bin'));
  });
});
