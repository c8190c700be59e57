import { describe, expect, it } from 'vitest';
import { lookOnce } from '../../../src/policy/host.js';
import { fakeHost } from '../fakehost.js';

describe('lookOnce: one look per path in one assemble()', () => {
  it('reads a config file once however often the run asks, per way of reading it', () => {
    const base = fakeHost({ '/home/u/.gitconfig': '[core]\n\thooksPath = h\n' });
    const reads: string[] = [];
    const host = lookOnce({ ...base, readText: (p, o) => (reads.push(`${p} ${o?.follow ?? false}`), base.readText(p, o)) });
    expect(host.readText('/home/u/.gitconfig', { follow: true })).toContain('hooksPath');
    expect(host.readText('/home/u/.gitconfig', { follow: true })).toContain('hooksPath');
    expect(host.readText('/home/u/.gitconfig')).toContain('hooksPath'); // not following a symlink: a look of its own
    expect(host.readText('/home/u/missing', { follow: true })).toBeNull();
    expect(host.readText('/home/u/missing', { follow: true })).toBeNull();
    expect(reads).toEqual(['/home/u/.gitconfig true', '/home/u/.gitconfig false', '/home/u/missing true']);
  });
});
