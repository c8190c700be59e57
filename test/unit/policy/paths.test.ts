import { describe, expect, it } from 'vitest';
import { ancestors, isWithin, nearestAbove, withinAny } from '../../../src/policy/paths.js';

describe('ancestors', () => {
  it('are the paths a path is within, itself left out, nearest first', () => {
    expect(ancestors('/etc/ssl/certs')).toEqual(['/etc/ssl', '/etc', '/']);
    expect(ancestors('/etc')).toEqual(['/']);
    expect(ancestors('/')).toEqual([]);
    for (const p of ['/etc/ssl/certs', '/a', '/a/b/']) {
      const others = ['/', '/a', '/a/b', '/etc', '/etc/ssl', '/etc/ss', '/etc/ssl/certs', '/a/b/'].filter((o) => o !== p && isWithin(p, o));
      expect(ancestors(p).sort()).toEqual(others.sort());
    }
  });
});

describe('isWithin', () => {
  it('is the path itself or one beneath it, by whole components', () => {
    const cases: Array<[string, string, boolean]> = [
      ['/a/b', '/a', true],
      ['/a', '/a', true],
      ['/ab', '/a', false],
      ['/a', '/a/b', false],
      ['/x', '/', true],
      ['/', '/', true],
      ['/a/', '/a', true],
      ['/a', '/a/', false],
      ['/a-b/c', '/a', false],
    ];
    for (const [inner, outer, want] of cases) expect([inner, outer, isWithin(inner, outer)]).toEqual([inner, outer, want]);
  });
});

describe('nearestAbove and withinAny', () => {
  const paths = ['/', '/etc', '/etc/ssl', '/etc/ss', '/work/proj', '/work/proj/src', '/a/b/'];
  const probes = ['/', '/etc', '/etc/ssl/certs', '/etc/ssl', '/etc/sslx', '/work/proj/src/x', '/work/pro', '/a/b/c', '/a/b', '/zz'];
  it('nearestAbove is the first of ancestors() the map holds', () => {
    for (const held of [paths, paths.filter((p) => p !== '/'), ['/etc/ssl']]) {
      const m = new Map(held.map((p) => [p, `at ${p}`]));
      for (const p of probes) expect([p, nearestAbove(p, m)]).toEqual([p, ancestors(p).map((a) => m.get(a)).find((v) => v !== undefined)]);
    }
  });
  it('withinAny is isWithin for some path of the set', () => {
    for (const held of [paths, paths.filter((p) => p !== '/'), ['/etc/ssl'], []]) {
      const set = new Set(held);
      for (const p of probes) expect([p, withinAny(p, set)]).toEqual([p, held.some((h) => isWithin(p, h))]);
    }
  });
});
