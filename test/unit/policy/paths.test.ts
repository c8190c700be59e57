import { describe, expect, it } from 'vitest';
import { ancestors, isWithin } from '../../../src/policy/paths.js';

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
