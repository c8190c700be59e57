/** The npm cache's merge: only content that hashes to its own name reaches
 *  the real cache, as a new file, never over one that is there. */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeVerifiedContent } from '../../../src/npmcache/merge.js';

let root: string;
let upper: string;
let cache: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'jail-unit-merge-'));
  upper = path.join(root, 'upper');
  cache = path.join(root, 'cache');
  fs.mkdirSync(cache);
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const named = (algo: string, bytes: string) => {
  const hex = crypto.createHash(algo).update(bytes).digest('hex');
  return `_cacache/content-v2/${algo}/${hex.slice(0, 2)}/${hex.slice(2, 4)}/${hex.slice(4)}`;
};
const put = (dir: string, rel: string, bytes: string) => {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), bytes);
};

describe('mergeVerifiedContent', () => {
  it('keeps verified blobs (sha512, sha1) as new 0644 files; drops the rest', () => {
    const good = named('sha512', 'tarball'), legacy = named('sha1', 'old tarball');
    put(upper, good, 'tarball');
    put(upper, legacy, 'old tarball');
    put(upper, named('sha512', 'x'), 'not x'); // a bogus file at a hash path
    put(upper, '_cacache/index-v5/aa/bb/cc', 'index entry');
    put(upper, '_npx/1234/node_modules/p/bin.js', 'planted');
    put(upper, '_cacache/content-v2/md5/aa/bb/cc', 'x');
    const inode = fs.statSync(path.join(upper, good)).ino;
    const r = mergeVerifiedContent(upper, cache);
    expect(r).toMatchObject({ kept: 2, present: 0, problems: [] });
    expect(r.rejected).toEqual(['_cacache/content-v2/md5', named('sha512', 'x')]);
    expect(fs.readFileSync(path.join(cache, good), 'utf8')).toBe('tarball');
    const st = fs.statSync(path.join(cache, good));
    expect(st.mode & 0o777).toBe(0o644);
    expect(st.ino).not.toBe(inode);
    expect(fs.existsSync(path.join(cache, '_npx'))).toBe(false);
    expect(fs.existsSync(path.join(cache, '_cacache', 'index-v5'))).toBe(false);
    expect(fs.readdirSync(path.join(cache, '_cacache', 'tmp'))).toEqual([]);
  });
  it('never replaces a file already in the cache, nor writes through a symlink there', () => {
    const a = named('sha512', 'a'), b = named('sha512', 'b');
    put(upper, a, 'a');
    put(upper, b, 'b');
    put(cache, a, 'what the cache had');
    fs.mkdirSync(path.join(root, 'elsewhere'));
    fs.mkdirSync(path.dirname(path.dirname(path.join(cache, b))), { recursive: true });
    fs.symlinkSync(path.join(root, 'elsewhere'), path.dirname(path.join(cache, b)));
    const r = mergeVerifiedContent(upper, cache);
    expect(r).toMatchObject({ kept: 0, present: 1, rejected: [] });
    expect(r.problems).toHaveLength(1);
    expect(fs.readFileSync(path.join(cache, a), 'utf8')).toBe('what the cache had');
    expect(fs.readdirSync(path.join(root, 'elsewhere'))).toEqual([]);
  });
  it('does not follow a symlink in the layer', () => {
    const a = named('sha512', 'a');
    fs.writeFileSync(path.join(root, 'target'), 'a');
    fs.mkdirSync(path.dirname(path.join(upper, a)), { recursive: true });
    fs.symlinkSync(path.join(root, 'target'), path.join(upper, a));
    expect(mergeVerifiedContent(upper, cache)).toMatchObject({ kept: 0, rejected: [a] });
  });
  it('does not follow a symlink at _cacache or content-v2 (into a tree the command could not read)', () => {
    // The command replaced the cache's _cacache by a symlink to another
    // cacache (another user's, not granted): its verified blobs must not be
    // copied into the user's cache, where the next run reads them.
    const secret = named('sha512', 'private package');
    put(path.join(root, 'other'), secret, 'private package');
    fs.mkdirSync(upper);
    fs.symlinkSync(path.join(root, 'other', '_cacache'), path.join(upper, '_cacache'));
    expect(mergeVerifiedContent(upper, cache)).toEqual({ kept: 0, present: 0, rejected: ['_cacache'], problems: [] });
    fs.unlinkSync(path.join(upper, '_cacache'));
    fs.mkdirSync(path.join(upper, '_cacache'));
    fs.symlinkSync(path.join(root, 'other', '_cacache', 'content-v2'), path.join(upper, '_cacache', 'content-v2'));
    expect(mergeVerifiedContent(upper, cache)).toEqual({ kept: 0, present: 0, rejected: ['_cacache/content-v2'], problems: [] });
    expect(fs.existsSync(path.join(cache, secret))).toBe(false);
  });
  it('does nothing without content', () => {
    expect(mergeVerifiedContent(upper, cache)).toEqual({ kept: 0, present: 0, rejected: [], problems: [] });
  });
});
