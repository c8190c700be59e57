/** jail explain against what really happens: same flags, the answer must match the run. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('explain');
  fs.mkdirSync(path.join(w.proj, '.git', 'hooks'), { recursive: true });
  fs.writeFileSync(path.join(w.proj, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  fs.mkdirSync(path.join(w.proj, '.git', 'objects'));
  fs.mkdirSync(path.join(w.proj, '.git', 'refs'));
});
afterAll(() => removeWorld(w));

type Case = [name: string, flags: string[], target: string, access: 'read' | 'write' | 'exec' | 'create', script: string];
const cases = (): Case[] => [
  ['read inside --ro .', ['--ro', '.'], 'README.md', 'read', 'cat README.md'],
  ['write under --ro .', ['--ro', '.'], 'README.md', 'write', 'echo x >> README.md'],
  ['create under --rw src', ['--ro', '.', '--rw', 'src'], 'src/new.js', 'create', 'echo x > src/new.js'],
  ['create beside it, under --ro', ['--ro', '.', '--rw', 'src'], 'other.js', 'create', 'echo x > other.js'],
  ['read a key in $HOME', ['--ro', '.'], path.join('..', 'home', '.ssh', 'id_ed25519'), 'read', 'cat ../home/.ssh/id_ed25519'],
  ['exec the system base', ['--ro', '.'], '/usr/bin/env', 'exec', '/usr/bin/env true'],
];

strictJail.describe('jail explain says what the run does', () => {
  strictJail.it.each(cases())('%s', (_, flags, target, access, script) => {
    const e = jail(w, ['explain', ...flags, target, '--access', access]);
    expect([0, 1], printed(e)).toContain(e.status);
    const run = jail(w, [...flags, '--', 'sh', '-c', script]);
    expect(run.status === 0, `explain: ${e.stdout}\nrun: ${printed(run)}`).toBe(e.status === 0);
  });
  strictJail.it('a protected path: explain denies it, and after the run it is not there', () => {
    const e = jail(w, ['explain', '--rw', '.', '.git/hooks/pre-commit', '--access', 'create']);
    expect([e.status, e.stdout], printed(e)).toEqual([1, expect.stringContaining('protected (git hooks)')]);
    jail(w, ['--rw', '.', '--', 'sh', '-c', 'echo evil > .git/hooks/pre-commit']);
    expect(fs.existsSync(path.join(w.proj, '.git', 'hooks', 'pre-commit'))).toBe(false);
  });
});
