/** --secret in a request head: placeholders become the value in the
 *  target and in header values; names and everything else stay. */
import { describe, expect, it } from 'vitest';
import { rewriteHead } from '../../../src/egress/rewrite.js';

const inj = [
  { name: 'A', placeholder: 'sk-PLACEHOLDERaaaa', value: 'sk-REALVALUEaaaaaa' },
  { name: 'B', placeholder: 'ghp_PLACEB', value: 'ghp_REAL_B' },
];

describe('rewriteHead', () => {
  it('puts the value in Authorization, x-api-key, any header, and the query', () => {
    const r = rewriteHead('/v1/m?key=sk-PLACEHOLDERaaaa&x=1', ['Authorization', 'Bearer sk-PLACEHOLDERaaaa', 'x-api-key', 'sk-PLACEHOLDERaaaa', 'X-Other', 'a ghp_PLACEB b ghp_PLACEB', 'Host', 'api.example.com'], inj);
    expect(r.url).toBe('/v1/m?key=sk-REALVALUEaaaaaa&x=1');
    expect(r.rawHeaders).toEqual(['Authorization', 'Bearer sk-REALVALUEaaaaaa', 'x-api-key', 'sk-REALVALUEaaaaaa', 'X-Other', 'a ghp_REAL_B b ghp_REAL_B', 'Host', 'api.example.com']);
    expect(r.injected.sort()).toEqual(['A', 'B']);
  });
  it('leaves header names, other values and a head without placeholders alone', () => {
    const r = rewriteHead('/path/sk-PLACEHOLDERaaaa', ['sk-PLACEHOLDERaaaa', 'v', 'Accept', '*/*'], inj);
    expect(r.url).toBe('/path/sk-REALVALUEaaaaaa');
    expect(r.rawHeaders).toEqual(['sk-PLACEHOLDERaaaa', 'v', 'Accept', '*/*']);
    expect(rewriteHead('/', ['Accept', '*/*'], inj)).toEqual({ url: '/', rawHeaders: ['Accept', '*/*'], injected: [] });
  });
});
