/**
 * Once per vitest run, before any test file: make sure dist/ is built from
 * the current src/ (the integration tests run bin/jail.cjs, which loads
 * dist/cli.js), then probe the kernel and provide its facts to the tests.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import type { TestProject } from 'vitest/node' with { 'resolution-mode': 'import' };
import { REPO, describeKernel, probeKernel } from './kernel-facts.js';

export default function setup(project: TestProject): void {
  // The same script as `npm run build:js`, prepare and pretest; it builds
  // only when a file under src/ is newer than dist/ (a build takes ~4 s).
  const build = spawnSync(process.execPath, [path.join(REPO, 'tools', 'build.mjs'), '--if-stale'], { cwd: REPO, stdio: 'inherit' });
  if (build.status !== 0) throw new Error('tools/build.mjs --if-stale failed: dist/ is not current, so the integration tests would run an old CLI.');

  const kernel = probeKernel();
  project.provide('kernel', kernel);
  process.stderr.write(`jail tests: Linux ${kernel.release}, ${describeKernel(kernel)}, seccomp ${kernel.seccomp ? 'yes' : 'no'}\n`);
}
