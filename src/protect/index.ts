/**
 * Detect and restore, the part of the guards the kernel cannot hold (the
 * fallback layer; in both layers, names that do not exist yet, scans):
 *
 *   const snap = snapshot(plan.afterRun);          // right before the command
 *   ...the command runs, and every process it left has ended...
 *   const result = restore(snap, { quarantineRoot });
 *   process.stderr.write(formatRestore(result));
 *
 * Loaded only when a plan has guards to check (src/run.ts requires it
 * lazily): a run without any pays nothing for it.
 */
import path = require('node:path');
import type { Guard } from '../policy/model.js';
import { printable } from '../text.js';
import { DEFAULT_BUDGET, restoreGuards, snapshotGuards, type Budget, type Change, type RestoreResult, type Snapshot } from './guards.js';
import { defaultQuarantineRoot, Quarantine, stampOf, type QuarantineLimits } from './quarantine.js';

export type { Budget, Change, RestoreResult, Snapshot, QuarantineLimits };
export { defaultQuarantineRoot, DEFAULT_BUDGET };

export interface SnapshotOptions {
  /** How much file content to keep (default 64 MiB, 20k entries). */
  budget?: Budget;
}

export interface RestoreOptions {
  /** Default: `$XDG_STATE_HOME/jail/quarantine` (tests pass their own). */
  quarantineRoot?: string;
  /** For the run's directory name, `<YYYYMMDD-HHMMSS>-<pid>`. */
  now?: Date;
  pid?: number;
  limits?: QuarantineLimits;
}

/** Record the guarded set; call right before the command starts. */
export function snapshot(guards: readonly Guard[], opts: SnapshotOptions = {}): Snapshot {
  return snapshotGuards(guards, opts.budget ?? DEFAULT_BUDGET);
}

/** Put every guarded path back as the snapshot saw it; call once nothing
 *  jailed runs any more. Never throws. */
export function restore(snap: Snapshot, opts: RestoreOptions = {}): RestoreResult {
  const q = new Quarantine(path.resolve(opts.quarantineRoot ?? defaultQuarantineRoot()), stampOf(opts.now ?? new Date(), opts.pid ?? process.pid), opts.limits);
  return restoreGuards(snap, q);
}

/**
 * The stderr lines for a restore: nothing when nothing changed, else
 *
 *   jail: the command changed what runs later outside the jail; reverted (kept for review in DIR):
 *     created  /p/.git/hooks/pre-commit  (git hooks)
 *     changed  /p/.git/config            (git config)
 *
 * with what could not be restored said on its line, and the notes after.
 * Every path goes through printable(): the command chose the names.
 */
export function formatRestore(r: RestoreResult): string {
  let out = '';
  if (r.changes.length) {
    const failed = r.changes.some((c) => c.action === 'could-not-restore');
    const head = failed ? 'reverted what it could' : 'reverted';
    const where = r.quarantine ? ` (kept for review in ${printable(r.quarantine)})` : '';
    out += `jail: the command changed what runs later outside the jail; ${head}${where}:\n`;
    const paths = r.changes.map((c) => printable(c.path));
    const width = Math.max(...paths.map((p) => p.length));
    r.changes.forEach((c, i) => {
      const tail = c.action === 'could-not-restore' ? `: COULD NOT RESTORE${c.note ? ` (${printable(c.note)})` : ''}` : c.note ? `: ${printable(c.note)}` : '';
      out += `  ${c.what.padEnd(8)} ${paths[i]!.padEnd(width)}  (${printable(c.why)})${tail}\n`;
    });
    const aside = r.changes.filter((c) => c.kept && !(r.quarantine && c.kept.startsWith(r.quarantine + '/')));
    for (const c of aside) out += `  ${printable(c.path)} was kept at ${printable(c.kept!)}\n`;
  }
  for (const n of r.notes) out += `jail: warning: ${printable(n)}\n`;
  return out;
}
