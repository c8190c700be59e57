/**
 * compactRules (src/native/apply.ts): the view as the addon takes it, each
 * run of rules in one directory as one 'rules' entry. Read back as the
 * addon reads it (binding.cc, ParseRules), it is the same view.
 */
import { describe, expect, it } from 'vitest';
import type { NativeViewEntry } from '../../../src/native/binding.js';
import { compactRules } from '../../../src/native/apply.js';

/** A 'rules' entry as the addon reads it: a rule per name, in order. */
function expand(view: NativeViewEntry[]): NativeViewEntry[] {
  return view.flatMap((e) => {
    if (e.kind !== 'rules') return [e];
    return e.rules.split('\0').map((one) => {
      const [access, ino, ...name] = one.split(' ');
      return { kind: 'rule', path: `${e.path}/${name.join(' ')}`, access: BigInt(access!), dev: e.dev, ino: BigInt(ino!) } as NativeViewEntry;
    });
  });
}

const rule = (p: string, ino: bigint, dev = 7n, access = 13n): NativeViewEntry => ({ kind: 'rule', path: p, access, dev, ino });

describe('compactRules', () => {
  it("makes one 'rules' entry of each run of rules in one directory on one device, and reads back as the same view", () => {
    const view: NativeViewEntry[] = [
      { kind: 'bind', path: '/etc', readOnly: true, access: 8n, dev: 7n, ino: 2n },
      rule('/etc/a b', 10n),
      rule('/etc/passwd', 11n, 7n, 5n),
      rule('/etc/ssl', 12n),
      rule('/etc/ssl/certs', 13n),
      rule('/etc/ssl/openssl.cnf', 14n),
      rule('/etc/zz', 15n, 8n), // another device: its own
      rule('/etc/zz2', 16n, 8n),
      { kind: 'empty', path: '/etc/shadow', isDir: false, access: 0n },
      rule('/etc/x', 17n),
    ];
    const c = compactRules(view);
    expect(c.map((e) => e.kind)).toEqual(['bind', 'rules', 'rules', 'rules', 'empty', 'rule']);
    expect(c[1]).toEqual({ kind: 'rules', path: '/etc', dev: 7n, rules: ['13 10 a b', '5 11 passwd', '13 12 ssl'].join('\0') });
    expect(expand(c)).toEqual(view);
  });

  it('leaves alone a rule without identity, with a source, or for a name in /', () => {
    const view: NativeViewEntry[] = [
      { kind: 'rule', path: '/etc/a', access: 1n },
      { kind: 'rule', path: '/etc/b', source: '/elsewhere/b', access: 1n, dev: 1n, ino: 2n },
      rule('/top', 3n),
      rule('/top2', 4n),
    ];
    expect(compactRules(view)).toEqual(view);
  });
});
