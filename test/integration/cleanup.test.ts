/**
 * The supervisor against a hostile command (issue 8), judged from outside:
 * whatever the command leaves running is ended before the private TMPDIR
 * is removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IS_ROOT, jail, makeWorld, processesWith, removeWorld, type World } from './harness.js';

const users: Array<[string, boolean]> = IS_ROOT ? [['root', false], ['nobody', true]] : [['this user', false]];
const digits = () => String(Math.floor(Math.random() * 1e9));
/** Kill whatever a test may have left running (a failing run leaves it). */
const killAll = (marker: string) => {
  for (const pid of processesWith(marker)) process.kill(pid, 'SIGKILL');
};

describe.each(users)('as %s', (_, asNobody) => {
  let w: World;
  beforeAll(() => {
    w = makeWorld('cleanup');
    fs.copyFileSync(path.join(__dirname, 'fixtures', 'swap-attack.cjs'), path.join(w.proj, 'swap-attack.cjs'));
  });
  afterAll(() => removeWorld(w));

  it('C1: a process left behind cannot steer the cleanup into ~/.ssh, and is dead when jail returns', () => {
    const marker = `jail-c1-${digits()}`;
    const key = path.join(w.home, '.ssh', 'id_ed25519');
    try {
      const r = jail(w, ['--ro', '.', '--', 'node', 'swap-attack.cjs', marker], { asNobody });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^\d+\n$/); // the watcher was running when the command ended
      expect(fs.existsSync(key) && fs.readFileSync(key, 'utf8')).toBe(`${w.secrets.ssh}\n`);
      expect(fs.statSync(path.dirname(key)).mode & 0o7777).toBe(0o777);
      expect(processesWith(marker, 'node')).toEqual([]);
      expect(r.status).toBe(0);
    } finally {
      killAll(marker);
    }
  });

  it('a background process, in its own session or not, is ended when the command exits: jail returns at once', () => {
    const [m1, m2] = [`100.${digits()}`, `100.${digits()}`];
    try {
      const t0 = Date.now();
      const r = jail(w, ['--ro', '.', '--', 'sh', '-c', `sleep ${m1} & setsid sleep ${m2} & echo started`], { asNobody, timeout: 10_000 });
      expect(Date.now() - t0).toBeLessThan(5_000);
      expect([r.stdout, r.status]).toEqual(['started\n', 0]);
      expect([...processesWith(m1, 'sleep'), ...processesWith(m2, 'sleep')]).toEqual([]);
    } finally {
      killAll(m1);
      killAll(m2);
    }
  });
});
