/**
 * Failing closed on older kernels (simulated with JAIL_LANDLOCK_ABI), best
 * effort, and --print-policy.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jail, kernel, makeWorld, needs, needsKernelAbi, printed, removeWorld, strictJail, thisKernel, type World, inFallback } from './harness.js';

let w: World;
beforeAll(() => {
  w = makeWorld('kernel');
});
afterAll(() => removeWorld(w));

const withAbi = (abi: number) => ({ env: { ...w.env, JAIL_LANDLOCK_ABI: String(abi) } });

describe('a kernel that cannot enforce the policy', () => {
  needsKernelAbi(5, 'the table simulates ABIs up to 5').it.each([
    [0, /cannot enforce any file system rule: this kernel has no Landlock; Landlock needs ABI 1 \(Linux 5\.13\)\./],
    [2, /cannot enforce read-only paths: this kernel has Landlock ABI 2; truncation control needs ABI 3 \(Linux 6\.2\)\./],
    [5, /cannot enforce signal isolation: this kernel has Landlock ABI 5; signal scoping needs ABI 6 \(Linux 6\.12\)\./],
  ])('ABI %i: exit 125, one message naming the feature and --best-effort, nothing runs', (abi, message) => {
    const marker = path.join(w.proj, `ran-${abi}`);
    const r = jail(w, ['--rw', '.', '--', 'touch', marker], withAbi(abi));
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/hint: upgrade the kernel, or pass --best-effort/);
    expect(r.stderr.trim().split('\n')).toHaveLength(2);
    expect(fs.existsSync(marker)).toBe(false);
  });

  needsKernelAbi(3, 'simulates ABI 3').it('ABI 3 refuses --allow-connect; best effort runs without it', () => {
    const strict = jail(w, ['--ro', '.', '--allow-connect', '443', '--', 'true'], withAbi(3));
    expect(strict.status).toBe(125);
    expect(strict.stderr).toMatch(/cannot enforce --allow-connect\/--allow-bind: this kernel has Landlock ABI 3; TCP port control needs ABI 4 \(Linux 6\.7\)/);
    const r = jail(w, ['--best-effort', '--ro', '.', '--allow-connect', '443', '--', 'true'], withAbi(3));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: --best-effort: running without TCP port control/);
  });

  needsKernelAbi(3, 'simulates ABI 3').it('best effort on ABI 3 says what it dropped, and still keeps the secrets', () => {
    const r = jail(w, ['--best-effort', '--ro', '.', '--', 'cat', path.join(w.home, '.ssh/id_ed25519')], withAbi(3));
    expect(r.status).not.toBe(0);
    expect(printed(r)).not.toContain(w.secrets.ssh);
    expect(r.stderr).toMatch(/running without signal scoping/);
  });

  it('best effort without Landlock warns loudly', () => {
    const r = jail(w, ['--best-effort', '--ro', '.', '--', 'true'], withAbi(0));
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: --best-effort: running without all file system and network confinement/);
  });

  it('rejects a malformed ABI cap', () => {
    expect(jail(w, ['--', 'true'], { env: { ...w.env, JAIL_LANDLOCK_ABI: 'seven' } }).status).toBe(125);
  });
});

strictJail.describe('--print-policy', () => {
  it('prints every rule with where it came from, and runs nothing', () => {
    const marker = path.join(w.proj, 'ran-print');
    const r = jail(w, ['--rw', 'src', '--ro', '.', '--print-policy', '--', 'touch', marker]);
    expect(r.status).toBe(0);
    expect(fs.existsSync(marker)).toBe(false);
    expect(r.stdout).toMatch(new RegExp(`rw +${w.proj}/src +--rw src`));
    expect(r.stdout).toMatch(new RegExp(`ro +${w.proj} +--ro \\.`));
    expect(r.stdout).toMatch(/ro +\/usr +system base \(\/usr\)/);
    expect(r.stdout).toMatch(/command: \/usr\/bin\/touch/);
    // $HOME only where the view shows the sanitised ~/.npmrc (← its copy).
    expect(r.stdout.split('\n').filter((l) => !l.includes('←')).join('\n')).not.toContain(w.home);
    expect(r.stdout).toMatch(inFallback ? /DNS: off: UDP is refused, so name lookups fail; add --allow-dns/ : /network: a namespace of its own, loopback only/);
    expect(r.stdout).toMatch(inFallback ? /layer: Landlock and seccomp only/ : /layer: namespaces \(user, mount, PID, IPC, network\)/);
  });
  it('--json gives the same as JSON', () => {
    const r = jail(w, ['--rw', 'src', '--print-policy', '--json', '--', 'true']);
    const j = JSON.parse(r.stdout);
    const src = j.landlock.paths.find((p: { path: string }) => p.path === `${w.proj}/src`);
    expect(src.from).toEqual(['--rw src']);
    expect(src.rights).toContain('write-file');
    expect(j.landlock.abi).toBeGreaterThan(0);
  });
});

const doctorNeeds = `needs Landlock in use (it lists the ABI's features) and a kernel with ABI 3 (it simulates 3); this kernel: ${thisKernel}`;
needs(kernel.landlockAbi >= 1 && kernel.landlockAbiFound >= 3, doctorNeeds).describe('jail doctor', () => {
  it('prints the kernel, the Landlock ABI with its features, and what best effort would drop', () => {
    const r = jail(w, ['doctor']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^kernel: Linux \S+/);
    expect(r.stdout).toMatch(/Landlock: ABI \d+/);
    expect(r.stdout).toMatch(/\+ ABI 1 +\(Linux 5\.13\): file system access control/);
    expect(r.stdout).toMatch(/seccomp filters: yes/);
    expect(r.stdout).toMatch(/namespace layer \(user, mount, PID, IPC namespaces\): (yes|no)/);
    expect(r.stdout).toMatch(/TTY: stdin no/);
    const old = jail(w, ['doctor'], withAbi(3));
    expect(old.stdout).toMatch(/- ABI 4 +\(Linux 6\.7\): TCP bind and connect/);
    expect(old.stdout).toMatch(/--best-effort would drop: \n {2}- TCP port control/);
  });
});
