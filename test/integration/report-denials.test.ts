/** --report-denials on the real kernel: the observer records, the supervisor
 *  judges after the run, and nothing about the run itself changes. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { IS_ROOT, jail, makeWorld, printed, removeWorld, strictJail, type World } from './harness.js';

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];

strictJail.describe.each(users)('--report-denials as %s', (_, asNobody) => {
  let w: World;
  beforeAll(() => {
    w = makeWorld('denials');
    fs.chmodSync(path.join(w.proj, 'README.md'), 0o666); // nobody writes it under --rw
  });
  afterAll(() => removeWorld(w));

  strictJail.it('names a key the command could not read, never its content, with the command\'s status', () => {
    const key = path.join(w.home, '.ssh', 'id_ed25519');
    const r = jail(w, ['--report-denials', '--ro', '.', '--', 'cat', key], { asNobody });
    expect(r.status, printed(r)).toBe(1); // cat's own
    expect(r.stderr).toContain(`jail:   denied read ${key}`);
    expect(r.stderr).toMatch(/to allow it: --ro \S*id_ed25519/);
    expect(printed(r)).not.toContain(w.secrets.ssh);
  });

  strictJail.it('a write under --ro is reported with the --rw that allows it; under --rw it is not', () => {
    const ro = jail(w, ['--report-denials', '--ro', '.', '--', 'sh', '-c', 'echo x >> README.md'], { asNobody });
    expect(ro.status).not.toBe(0);
    expect(ro.stderr).toContain(`denied write ${path.join(w.proj, 'README.md')}`);
    expect(ro.stderr).toContain('to allow it: --rw ./README.md');
    const rw = jail(w, ['--report-denials', '--rw', '.', '--', 'sh', '-c', 'echo x >> README.md && mkdir -p dist && echo y > dist/a.js && mv dist/a.js dist/b.js && rm -r dist'], { asNobody });
    expect(rw.status, printed(rw)).toBe(0);
    expect(rw.stderr).not.toContain('--report-denials');
  });

  strictJail.it('a create in a missing output directory names it', () => {
    const r = jail(w, ['--report-denials', '--ro', '.', '--', 'sh', '-c', 'mkdir -p out && echo y > out/a.js'], { asNobody });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`denied create ${path.join(w.proj, 'out')}`);
    expect(r.stderr).toContain('to allow it: --rw .');
  });

  strictJail.it('creates in $HOME are no reason to suggest --rw ~, and a name with flags in it stays one shell word', () => {
    const r = jail(w, ['--report-denials', '--ro', '.', '--', 'sh', '-c', 'touch ~/x ~/y; touch "$HOME/a --rw ~/b"; true'], { asNobody });
    expect(r.stderr).toContain(`denied create of 2 paths under ${w.home}`);
    expect(r.stderr).toContain(`to allow it: --rw '${w.home}/a --rw ~'`);
    expect(r.stderr).not.toMatch(new RegExp(`--rw (~|${w.home})([ ;)]|$)`, 'm'));
  });

  strictJail.it('says nothing when nothing was refused (a missing file is no denial)', () => {
    const r = jail(w, ['--report-denials', '--ro', '.', '--', 'sh', '-c', 'cat README.md src/index.js; cat nope 2>/dev/null; true'], { asNobody });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).toContain('project readme');
    expect(r.stderr).toBe('');
  });

  strictJail.it('the command never holds the listener', () => {
    const r = jail(w, ['--report-denials', '--ro', '.', '--', 'sh', '-c', 'ls -l /proc/self/fd/ /proc/$$/fd/'], { asNobody });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stdout).not.toMatch(/seccomp|anon_inode/);
    // 0-2 are the test's pipes, 3 is ls's own directory: nothing else.
    expect(r.stdout).not.toMatch(/ (?:[4-9]|\d\d+) -> /);
  });

  strictJail.it('a flood of calls finishes, bounded, and says how many went unrecorded', () => {
    const flood = path.join(w.root, 'open-flood');
    execFileSync('cc', ['-O1', '-o', flood, path.join(__dirname, 'fixtures', 'open-flood.c')]);
    const r = jail(w, ['--report-denials', '--ro', '.', '--ro', flood, '--', flood, '/nonexistent/x', '200000'], { asNobody, timeout: 60_000 });
    expect(r.status, printed(r)).toBe(0);
    expect(r.stderr).toMatch(/jail: {3}1\d{5} path call\(s\) went unrecorded/);
  }, 60_000);
});
