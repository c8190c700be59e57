/**
 * The jail command's stored plans (src/planstore.ts, src/cli/fast.ts): a
 * second `jail FLAGS -- COMMAND` with the same key runs the plan the first
 * stored, when everything it looked at is as it was. Each test runs twice
 * and judges from outside: the second run behaves as the first (status,
 * output, signals, the TMPDIR gone); what changed in between (a .env, a
 * config) is seen; no jail can write the store. JAIL_DEBUG_STORE=1 says
 * which run took the store.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, LAYER, NODE, REPO, jail, makeWorld, needs, nobodyJail, printed, removeWorld, strictJail, type World } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('planstore');
});
afterAll(() => removeWorld(w));

const USED = /jail: plan store: used/;
const NOT_USED = /jail: plan store: not used: (.*)/;

/** A fresh project directory for one test, writable by anyone (nobody). */
function project(name: string, files: Record<string, string> = {}): string {
  const dir = path.join(w.root, name);
  fs.mkdirSync(dir, { recursive: true, mode: 0o777 });
  fs.chmodSync(dir, 0o777);
  for (const [f, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.writeFileSync(path.join(dir, f), text, { mode: 0o666 });
  }
  return dir;
}

/**
 * A copy of jail's runtime that nobody owns (an unprivileged user's own
 * install, where its plans are stored), without the repository's store.
 */
function nobodysJail(): string {
  const src = path.dirname(path.dirname(nobodyJail(w)));
  const dest = path.join(w.root, 'pkg-nobody');
  if (!fs.existsSync(dest)) {
    fs.cpSync(src, dest, { recursive: true, filter: (p) => !p.includes(`${path.sep}dist${path.sep}plans`) });
    execFileSync('chown', ['-R', '65534:65534', dest]);
  }
  return path.join(dest, 'bin', 'jail.cjs');
}

interface Who {
  who: string;
  run: (args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string }) => ReturnType<typeof jail>;
}
const asRoot: Who = { who: IS_ROOT ? 'root' : 'this user', run: (args, opts = {}) => jail(w, args, { ...opts, env: { ...w.env, JAIL_DEBUG_STORE: '1', ...opts.env } }) };
const asNobody: Who = {
  who: 'nobody (its own install)',
  run: (args, opts = {}) =>
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', NODE, nobodysJail(), ...args], {
      cwd: opts.cwd ?? w.proj,
      env: { ...w.env, JAIL_DEBUG_STORE: '1', ...opts.env },
      input: opts.input,
      encoding: 'utf8',
      timeout: 20_000,
    }),
};

const users: Who[] = IS_ROOT ? [asRoot, asNobody] : [asRoot];

strictJail.describe.each(users)('stored plans ($who)', ({ who, run }) => {
  const tag = who.replace(/\W+/g, '-');

  it('the second run takes the stored plan and behaves as the first: status, stdout, stderr, stdin, the TMPDIR gone', () => {
    const proj = project(`same-${tag}`, { 'README.md': 'hello\n' });
    const script = 'cat README.md; read line; echo "in:$line"; echo err >&2; echo "$TMPDIR" > /dev/null; echo "tmp:$TMPDIR"; exit 3';
    const runs = [1, 2, 3].map(() => run(['--ro', '.', '--', 'sh', '-c', script], { cwd: proj, input: 'typed\n' }));
    expect(runs[0]!.stderr).toMatch(NOT_USED);
    expect(runs[2]!.stderr, printed(runs[2]!)).toMatch(USED);
    for (const r of runs) {
      expect(r.status, printed(r)).toBe(3);
      expect(r.stdout).toMatch(/^hello\nin:typed\ntmp:\/.*\/jail-\d+-[0-9a-f]{12}\n$/);
      expect(r.stderr).toContain('err\n');
      const tmp = /tmp:(.*)\n/.exec(r.stdout)![1]!;
      expect(fs.existsSync(tmp), `${tmp} left behind`).toBe(false);
    }
    // Each run has a TMPDIR of its own.
    expect(new Set(runs.map((r) => /tmp:(.*)\n/.exec(r.stdout)![1])).size).toBe(3);
  });

  it('a command that dies of a signal: the stored run dies of it too', () => {
    const proj = project(`signal-${tag}`);
    const runs = [1, 2, 3].map(() => run(['--ro', '.', '--', 'sh', '-c', 'kill -TERM $$'], { cwd: proj }));
    expect(runs[2]!.stderr).toMatch(USED);
    for (const r of runs) expect([r.status, r.signal]).toEqual([null, 'SIGTERM']);
  });

  it('the arguments after the command are the run\'s own, not the stored ones', () => {
    const proj = project(`args-${tag}`);
    const a = run(['--ro', '.', '--', 'echo', 'first'], { cwd: proj });
    run(['--ro', '.', '--', 'echo', 'first'], { cwd: proj });
    const b = run(['--ro', '.', '--', 'echo', 'second', 'word'], { cwd: proj });
    expect(a.stdout).toBe('first\n');
    expect(b.stderr).toMatch(USED);
    expect(b.stdout).toBe('second word\n');
  });

  // Root's /etc is granted entry by entry (the files others may read); in
  // a stored run the supervisor adds those rules while the init builds the
  // rest of the view (spawnRules).
  it.skipIf(!IS_ROOT)('attack: a stored run grants /etc as the first run did: what others may read is read, a root-only file never', () => {
    const proj = project(`etc-${tag}`);
    const secret = `/etc/jail-store-secret-${process.pid}-${tag}`;
    fs.writeFileSync(secret, 'ROOT-ONLY-SECRET\n', { mode: 0o600 });
    try {
      const show = ['--ro', '.', '--', 'sh', '-c', `head -c 5 /etc/passwd; cat ${secret}; echo "rc=$?"`];
      const runs = [1, 2, 3].map(() => run(show, { cwd: proj }));
      expect(runs[2]!.stderr).toMatch(USED);
      expect(runs[2]!.stderr).not.toMatch(/plan store: not started/); // the stored run ran it
      for (const r of runs) {
        expect(r.stdout, printed(r)).toBe('root:rc=1\n');
        expect(printed(r)).not.toContain('ROOT-ONLY-SECRET');
      }
    } finally {
      fs.rmSync(secret, { force: true });
    }
  });

  // Root's /etc scan is stored with its directories' times where each had
  // settled when listed (src/trace.ts): a stored run checks the tree by
  // them and by each entry's mode and identity rather than list it again
  // (native/scan.c). A directory granted whole (everything in it readable
  // by others) must not stay granted whole once a file in it is made
  // root-only (its directory's times do not move), nor once a root-only
  // file is added to it (they do).
  needs(IS_ROOT && who === asRoot.who, 'runs as root: the system base scans /etc for root').it('attack: /etc checked by its directories\' times: a file made root-only, or a root-only file added, in a directory granted whole is not read by the next run', async () => {
    const dir = `/etc/jail-store-times-${process.pid}`;
    const file = `${dir}/sub/conf`;
    const TIMES = /plan store: \/etc checked by its directories' times/;
    const settle = () => new Promise((r) => setTimeout(r, 2100));
    fs.mkdirSync(`${dir}/sub`, { recursive: true });
    fs.chmodSync(`${dir}/sub`, 0o755);
    fs.writeFileSync(file, 'READABLE-BEFORE\n');
    fs.chmodSync(file, 0o644);
    const show = (f: string) => ['--ro', '.', '--', 'sh', '-c', `cat ${f} 2>/dev/null; echo "rc=$?"`];
    try {
      // Stored with its times once /etc has settled; a test elsewhere may
      // touch /etc meanwhile (then the plan has none: again).
      let proj = '';
      let checked = false;
      for (let i = 0; i < 5 && !checked; i++) {
        await settle();
        proj = project(`etc-times-${i}`);
        const runs = [1, 2].map(() => run(show(file), { cwd: proj }));
        for (const r of runs) expect(r.stdout, printed(r)).toBe('READABLE-BEFORE\nrc=0\n'); // the control: granted while readable
        checked = USED.test(runs[1]!.stderr) && TIMES.test(runs[1]!.stderr);
      }
      expect(checked, 'no stored run checked /etc by its times').toBe(true);
      fs.chmodSync(file, 0o600);
      fs.writeFileSync(file, 'SECRET-AFTER\n');
      const after = run(show(file), { cwd: proj });
      expect(after.stdout, printed(after)).toBe('rc=1\n');
      expect(printed(after)).not.toContain('SECRET');
      expect(after.stderr).toMatch(NOT_USED);
      // Readable again, the plan made again checks by the times again.
      fs.writeFileSync(file, 'READABLE-AGAIN\n');
      fs.chmodSync(file, 0o644);
      const again = [1, 2].map(() => run(show(file), { cwd: proj }));
      for (const r of again) expect(r.stdout, printed(r)).toBe('READABLE-AGAIN\nrc=0\n');
      expect(again[1]!.stderr).toMatch(USED);
      expect(again[1]!.stderr).toMatch(TIMES);
      fs.writeFileSync(`${dir}/sub/added`, 'SECRET-ADDED\n', { mode: 0o600 });
      fs.chmodSync(`${dir}/sub/added`, 0o600);
      const added = run(show(`${dir}/sub/added`), { cwd: proj });
      expect(added.stdout, printed(added)).toBe('rc=1\n');
      expect(printed(added)).not.toContain('SECRET');
      expect(added.stderr).toMatch(NOT_USED);
      // the control: outside the jail root reads it
      expect(fs.readFileSync(`${dir}/sub/added`, 'utf8')).toBe('SECRET-ADDED\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  // A directory the planning user cannot list (root's, 0700, in the
  // project) is an empty listing to the planner, and to the stored run's
  // check: the plan is taken; once listable with a .env in it, it is not.
  it('a directory it cannot list does not keep its stored plan from being taken; made listable with a .env in it, the next run hides the .env', () => {
    const proj = project(`unlistable-${tag}`);
    const box = path.join(proj, 'box');
    fs.mkdirSync(box, { mode: 0o700 });
    fs.chmodSync(box, 0o700);
    const show = ['--ro', '.', '--', 'sh', '-c', 'cat box/.env 2>/dev/null; echo done'];
    const runs = [1, 2, 3].map(() => run(show, { cwd: proj }));
    expect(runs[2]!.stderr, printed(runs[2]!)).toMatch(USED);
    for (const r of runs) expect(r.stdout, printed(r)).toBe('done\n');
    fs.writeFileSync(path.join(box, '.env'), 'SECRET=in-the-box\n', { mode: 0o644 });
    fs.chmodSync(box, 0o755);
    const after = run(show, { cwd: proj });
    expect(after.stderr).toMatch(NOT_USED);
    expect(after.stdout, printed(after)).toBe('done\n');
    expect(printed(after)).not.toContain('in-the-box');
    // the control: outside the jail this user reads it
    expect(run(['--ro', '.', '--ro', path.join(box, '.env'), '--', 'cat', 'box/.env'], { cwd: proj }).stdout).toContain('in-the-box');
  });

  needs(who !== asRoot.who || !IS_ROOT, 'root lists any directory: the refusal is for other users').it('attack: a directory of this user\'s, listed empty when the plan was stored, made unlistable with a .env in it: the next run is refused (125) as a first run would be, and nothing ran', () => {
    const proj = project(`chmodded-${tag}`);
    const box = path.join(proj, 'box');
    fs.mkdirSync(box, { mode: 0o755 });
    if (IS_ROOT) fs.chownSync(box, 65534, 65534); // nobody's own
    // (nothing the command leaves behind: the next run must differ only by the box)
    const show = ['--rw', '.', '--', 'sh', '-c', 'chmod 755 box 2>/dev/null; cat box/.env 2>/dev/null; echo ran'];
    const runs = [1, 2, 3].map(() => run(show, { cwd: proj }));
    expect(runs[2]!.stderr, printed(runs[2]!)).toMatch(USED);
    for (const r of runs) expect(r.stdout).toBe('ran\n');
    // as the user (the box is theirs): a .env in it, then mode 000
    const owner = IS_ROOT ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const r0 = spawnSync(owner[0] ?? 'sh', [...owner.slice(1), ...(owner.length ? ['sh'] : []), '-c', 'echo SECRET=in-the-box > box/.env && chmod 000 box'], { cwd: proj, encoding: 'utf8' });
    expect(r0.status, r0.stderr).toBe(0);
    const after = run(show, { cwd: proj });
    expect(after.status, printed(after)).toBe(125);
    expect(after.stderr).toMatch(/cannot look into .*box \(mode 0000\)/);
    expect(printed(after)).not.toContain('in-the-box');
    expect(after.stdout).toBe(''); // nothing ran
  });

  it('attack: a .env made between two runs (by a jailed command, and from outside) is hidden in the next', async () => {
    const proj = project(`env-${tag}`, { 'sub/keep.txt': 'x' });
    fs.chmodSync(path.join(proj, 'sub'), 0o777);
    // Settled directories, whose listings the store checks by their stamps.
    await new Promise((r) => setTimeout(r, 2100));
    const show = ['--ro', '.', '--', 'sh', '-c', 'cat .env 2>/dev/null; cat sub/.env 2>/dev/null; echo done'];
    const first = [1, 2, 3].map(() => run(show, { cwd: proj }));
    expect(first[2]!.stderr).toMatch(USED);
    for (const r of first) expect(r.stdout, printed(r)).toBe('done\n');
    const plant = run(['--rw', '.', '--', 'sh', '-c', 'echo SECRET=inside-made-1 > sub/.env && echo planted'], { cwd: proj });
    expect(plant.stdout, printed(plant)).toBe('planted\n');
    const r1 = run(show, { cwd: proj });
    expect(r1.stderr).toMatch(NOT_USED);
    expect(r1.stdout, printed(r1)).toBe('done\n');
    expect(run(show, { cwd: proj }).stderr).toMatch(USED); // stored again, with it hidden
    fs.writeFileSync(path.join(proj, '.env'), 'SECRET=outside-made-2\n', { mode: 0o666 });
    const r2 = run(show, { cwd: proj });
    expect(r2.status, printed(r2)).toBe(0);
    expect(r2.stdout, printed(r2)).toBe('done\n');
  });

  it('a project config changed between runs is read again (the stored plan is not taken)', () => {
    const proj = project(`config-${tag}`, { 'jail.config.json': JSON.stringify({ profiles: { t: { rw: ['out'] } } }), 'out/.keep': '' });
    fs.chmodSync(path.join(proj, 'out'), 0o777);
    const write = ['-p', 't', '--', 'sh', '-c', 'echo x > out/f && echo wrote'];
    for (let i = 0; i < 2; i++) expect(run(write, { cwd: proj }).stdout).toBe('wrote\n');
    fs.writeFileSync(path.join(proj, 'jail.config.json'), JSON.stringify({ profiles: { t: { ro: ['out'] } } }));
    fs.rmSync(path.join(proj, 'out', 'f'));
    const r = run(write, { cwd: proj });
    expect(r.stderr).toMatch(NOT_USED);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(path.join(proj, 'out', 'f'))).toBe(false);
  });

  it('attack: a stored plan made ready while its answers are checked never runs when one changed (runs counted from outside)', () => {
    // The command is made ready (its process confined, waiting before its
    // exec) while the host is asked again; a .env planted in between must
    // stop that one, so the command runs once per call, with the fresh plan.
    const proj = project(`ready-${tag}`, { 'out/.keep': '' });
    fs.chmodSync(path.join(proj, 'out'), 0o777);
    const count = ['--ro', '.', '--rw', 'out', '--', 'sh', '-c', 'echo run >> out/log; cat .env 2>/dev/null; true'];
    for (let i = 0; i < 2; i++) expect(run(count, { cwd: proj }).status).toBe(0);
    fs.writeFileSync(path.join(proj, '.env'), 'SECRET=planted\n', { mode: 0o666 });
    const r = run(count, { cwd: proj });
    expect(r.stderr).toMatch(NOT_USED);
    expect(r.stdout, printed(r)).toBe('');
    expect(fs.readFileSync(path.join(proj, 'out', 'log'), 'utf8')).toBe('run\nrun\nrun\n');
  });

  it('a signal that comes while a plan no longer holding is made ready ends jail, as it would have: the command never runs', () => {
    const proj = project(`signal-${tag}`, { 'out/.keep': '' });
    fs.chmodSync(path.join(proj, 'out'), 0o777);
    const count = ['--ro', '.', '--rw', 'out', '--', 'sh', '-c', 'echo run >> out/log'];
    const env = { JAIL_TEST_SIGNAL_WHEN_READY: '1' };
    expect(run(count, { cwd: proj, env }).status).toBe(0); // prepared: no stored plan yet, no signal
    fs.writeFileSync(path.join(proj, '.env'), 'SECRET=planted\n', { mode: 0o666 });
    const r = run(count, { cwd: proj, env });
    expect([r.status, r.signal], printed(r)).toEqual([null, 'SIGTERM']);
    expect(fs.readFileSync(path.join(proj, 'out', 'log'), 'utf8')).toBe('run\n');
  });

  it('another environment, or no -- before the command, is another key', () => {
    const proj = project(`key-${tag}`);
    run(['--ro', '.', '--', 'true'], { cwd: proj, env: { FOO: '1' } });
    expect(run(['--ro', '.', '--', 'true'], { cwd: proj, env: { FOO: '1' } }).stderr).toMatch(USED);
    expect(run(['--ro', '.', '--', 'true'], { cwd: proj, env: { FOO: '2' } }).stderr).toMatch(/not used: no plan for this run/);
    expect(run(['--ro', '.', 'true'], { cwd: proj }).stderr).toMatch(/not used: no -- before the command/);
    expect(run(['--ro', '.', '--', 'true'], { cwd: proj, env: { JAIL_PLAN_STORE: 'off' } }).stderr).toMatch(/not used: turned off/);
    // A value it does not know is bad input: 125, one message, nothing run.
    const bad = run(['--ro', '.', '--', 'sh', '-c', 'echo ran'], { cwd: proj, env: { JAIL_PLAN_STORE: 'of' } });
    expect([bad.status, bad.stdout], printed(bad)).toEqual([125, '']);
    expect(bad.stderr).toMatch(/JAIL_PLAN_STORE=of: not on or off\.\n *hint: set it to off/);
  });
});

describe('the store is jail\'s own', () => {
  const pkg = REPO;
  const store = path.join(pkg, 'dist', 'plans');

  strictJail.it('attack: no jail is granted to write it, or jail\'s code (refused, 125; nothing written)', () => {
    fs.mkdirSync(path.join(store, String(process.geteuid!())), { recursive: true, mode: 0o700 });
    const cli = path.join(pkg, 'dist', 'cli.js');
    const before = fs.readFileSync(cli);
    for (const grant of [store, path.join(store, String(process.geteuid!())), cli, path.join(pkg, 'dist', 'fast.js')]) {
      const r = jail(w, ['--ro', '/', '--rw', grant, '--', 'sh', '-c', `echo planted > ${path.join(store, String(process.geteuid!()), 'planted')}; echo x >> ${cli}`]);
      expect(r.status, printed(r)).toBe(125);
      expect(r.stderr).toMatch(/is part of jail itself/);
    }
    // Read-only, as --ro / has it: the write fails.
    const r = jail(w, ['--ro', '/', '--', 'sh', '-c', `echo planted > ${path.join(store, String(process.geteuid!()), 'planted')}`]);
    expect(r.status).not.toBe(0);
    expect(fs.existsSync(path.join(store, String(process.geteuid!()), 'planted'))).toBe(false);
    expect(fs.readFileSync(cli).equals(before)).toBe(true);
  });

  strictJail.it('holds no environment value and no config text: a variable the command gets, the token in ~/.npmrc', () => {
    const proj = project('no-secrets');
    const env = { ...w.env, JAIL_DEBUG_STORE: '1', APP_MODE: 'mode-in-env-4711' };
    const runs = [1, 2, 3].map(() => jail(w, ['--ro', '.', '--', 'sh', '-c', 'echo "$APP_MODE"'], { cwd: proj, env }));
    expect(runs[2]!.stderr).toMatch(USED);
    for (const r of runs) expect(r.stdout).toBe('mode-in-env-4711\n');
    const dir = path.join(store, String(process.geteuid!()));
    // This run's entries (the store holds other tests' too).
    const texts = fs.readdirSync(dir).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).filter((t) => t.includes(proj));
    expect(texts.length).toBeGreaterThan(0);
    for (const t of texts) {
      expect(t).not.toContain('mode-in-env-4711');
      expect(t).not.toContain(w.secrets.npmrc);
    }
  });

  strictJail.it('attack: a value set with --env NAME=VALUE (a token for one run) is not written into the store, where later jails may read it', () => {
    const proj = project('env-set');
    const env = { ...w.env, JAIL_DEBUG_STORE: '1' };
    const token = 'tok-for-this-run-only-8312';
    const runs = [1, 2, 3].map(() => jail(w, ['--env', `DEPLOY_TOKEN=${token}`, '--ro', '.', '--', 'sh', '-c', 'echo "$DEPLOY_TOKEN"'], { cwd: proj, env }));
    for (const r of runs) expect(r.stdout, printed(r)).toBe(`${token}\n`);
    const dir = path.join(store, String(process.geteuid!()));
    for (const f of fs.readdirSync(dir)) expect(fs.readFileSync(path.join(dir, f), 'utf8').includes(token), `${f} holds it`).toBe(false);
    // And a later jail that may read jail's package finds it nowhere there.
    const later = jail(w, ['--ro', '/', '--', 'sh', '-c', `cat ${dir}/* 2>/dev/null; echo done`], { cwd: proj, env });
    expect(later.stdout, printed(later)).not.toContain(token);
  });

  strictJail.it(`attack: in the ${LAYER} layer, no jail reads the store (--ro /, or a project holding jail)`, () => {
    const proj = project('read-store');
    const env = { ...w.env, JAIL_DEBUG_STORE: '1' };
    jail(w, ['--ro', '.', '--', 'true'], { cwd: proj, env });
    const dir = path.join(store, String(process.geteuid!()));
    expect(fs.readdirSync(dir).length).toBeGreaterThan(0);
    for (const grant of ['/', pkg]) {
      const r = jail(w, ['--ro', grant, '--', 'sh', '-c', `cat ${dir}/* 2>/dev/null; echo end`], { cwd: proj, env });
      expect(r.status, printed(r)).toBe(0);
      expect(r.stdout).toBe('end\n');
    }
  });

  strictJail.it('a store others can write is not used', () => {
    const proj = project('open-store');
    const env = { ...w.env, JAIL_DEBUG_STORE: '1' };
    const own = path.join(store, String(process.geteuid!()));
    jail(w, ['--ro', '.', '--', 'true'], { cwd: proj, env });
    const mode = fs.statSync(own).mode & 0o777;
    fs.chmodSync(own, 0o777);
    try {
      expect(jail(w, ['--ro', '.', '--', 'true'], { cwd: proj, env }).stderr).toMatch(/not used: no store of this user's/);
    } finally {
      fs.chmodSync(own, mode);
    }
    expect(jail(w, ['--ro', '.', '--', 'true'], { cwd: proj, env }).stderr).toMatch(USED);
  });

  strictJail.it(`in the ${LAYER} layer, a stored run keeps what the command planted in .git/hooks out`, () => {
    const proj = project('guards');
    execFileSync('git', ['init', '-q', proj]);
    const plant = ['--rw', '.', '--', 'sh', '-c', 'printf "#!/bin/sh\\necho hooked\\n" > .git/hooks/pre-commit 2>/dev/null; exit 0'];
    const env = { ...w.env, JAIL_DEBUG_STORE: '1' };
    for (let i = 0; i < 3; i++) {
      const r = jail(w, plant, { cwd: proj, env });
      if (i === 2) expect(r.stderr, printed(r)).toMatch(USED);
      expect(fs.existsSync(path.join(proj, '.git', 'hooks', 'pre-commit')), `run ${i + 1}: ${printed(r)}`).toBe(false);
    }
  });
});
