/**
 * A reporter that ends the run with the skipped tests counted by reason,
 * since the default reporter shows skipped tests only as a number. A skipped
 * check is never a pass: the reasons are part of the result.
 *
 *   Skipped tests, by reason:
 *     skipped 113: needs Landlock ABI 6 (signal scoping: …); this kernel: Landlock ABI 3 (…)
 *     skipped 1: no reason given: test/integration/net.test.ts > … > as root, open_by_handle_at fails
 *
 * Reasons come from harness.ts's needs()/needsAbi()/strictJail, which
 * append " [skipped: REASON]" to the name of what they skip, or from
 * ctx.skip(note). Tests left out by -t are not listed one by one.
 */
import type { Reporter, TestCase, TestModule, TestSuite, Vitest } from 'vitest/node' with { 'resolution-mode': 'import' };

const MARK = /\[skipped: (.*)\]$/;

export default class SkipReasons implements Reporter {
  private filtered = false;

  onInit(vitest: Vitest): void {
    this.filtered = Boolean(vitest.config.testNamePattern);
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const byReason = new Map<string, number>();
    const unexplained: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests('skipped')) {
        if (t.options.mode === 'todo') continue;
        const result = t.result();
        let reason = result.state === 'skipped' ? result.note : undefined;
        for (let n: TestCase | TestSuite | TestModule = t; !reason && n.type !== 'module'; n = n.parent) reason = MARK.exec(n.name)?.[1];
        if (reason) byReason.set(reason, (byReason.get(reason) ?? 0) + 1);
        else unexplained.push(`${m.moduleId.replace(/^.*?\/(test\/)/, '$1')} > ${t.fullName}`);
      }
    }
    const lines = [...byReason].sort((a, b) => b[1] - a[1]).map(([r, n]) => `  skipped ${n}: ${r}`);
    if (this.filtered) {
      if (unexplained.length) lines.push(`  skipped ${unexplained.length}: left out by -t, or skipped with no reason given`);
    } else {
      for (const u of unexplained) lines.push(`  skipped 1: no reason given: ${u}`);
    }
    if (lines.length) process.stdout.write(`\nSkipped tests, by reason:\n${lines.join('\n')}\n`);
  }
}
