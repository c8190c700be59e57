/**
 * Matching the names of what runs later (RUNS_LATER in protect.ts) and the
 * after-run scan's names: a name is an entry's name (`.husky`), a glob
 * (`*.code-workspace`: `*` is any run of characters), or a name inside a
 * directory of a given name (`.config/mise.toml`, `.yarn/releases`). The
 * same matcher serves the search before the run (protect.ts), the check
 * after it (src/protect/guards.ts, on byte strings: the names are ASCII)
 * and the explanation of a refusal (explain.ts). Pure.
 */

export interface NameMatcher {
  /** The pattern `name` (inside a directory named `parent`) matches, or
   *  undefined; `inside`: only a qualified one (the level a walk lists
   *  below its depth, inside one of `parents`). */
  match(name: string, parent: string, inside?: boolean): string | undefined;
  /** Directory names that qualified patterns look inside (`.config`): a
   *  walk lists such a directory one level deeper than its depth. */
  parents: ReadonlySet<string>;
}

export function nameMatcher(patterns: readonly string[]): NameMatcher {
  // Per parent ('' for names anywhere): exact names, and the globs as one
  // regular expression (most entries match nothing: one test each).
  const by = new Map<string, { exact: Map<string, string>; globs: Array<{ re: RegExp; pattern: string }>; any?: RegExp }>();
  for (const p of patterns) {
    const slash = p.indexOf('/');
    const parent = slash < 0 ? '' : p.slice(0, slash);
    const name = slash < 0 ? p : p.slice(slash + 1);
    let e = by.get(parent);
    if (!e) by.set(parent, (e = { exact: new Map(), globs: [] }));
    if (name.includes('*')) e.globs.push({ re: globRe(name), pattern: p });
    else e.exact.set(name, p);
  }
  for (const e of by.values()) if (e.globs.length) e.any = new RegExp(e.globs.map((g) => `(?:${g.re.source})`).join('|'), 's');
  const top = by.get('');
  const inParent = (e: typeof top, name: string) => e && (e.exact.get(name) ?? (e.any?.test(name) ? e.globs.find((g) => g.re.test(name))!.pattern : undefined));
  return {
    parents: new Set([...by.keys()].filter((k) => k !== '')),
    match(name, parent, inside = false) {
      return (inside ? undefined : inParent(top, name)) ?? (parent !== '' ? inParent(by.get(parent), name) : undefined);
    },
  };
}

const globRe = (name: string) => new RegExp(`^${name.split('*').map(escapeRe).join('.*')}$`, 's');
const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
