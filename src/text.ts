/**
 * Text for the terminal. Paths, names and file contents that jail prints
 * may come from a hostile project (a directory named with an escape
 * sequence that retitles the terminal or rewrites what was printed above).
 * Nothing from outside reaches the terminal raw.
 */

/** Control characters (C0 but newline, DEL, C1), bidi overrides and
 *  isolates, and the Unicode line separators. */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;
const UNSAFE_OR_NEWLINE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]/g;

const escape = (c: string) => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/**
 * One untrusted string (a path, a name) made safe to print: unsafe
 * characters, newlines included, are shown as `\xNN` escapes; with
 * `replace`, each becomes one U+FFFD, so columns stay where they were.
 */
export function printable(s: string, opts: { replace?: boolean } = {}): string {
  // Replacing keeps tabs: they only move the caret line with the text.
  return opts.replace ? s.replace(UNSAFE_OR_NEWLINE, (c) => (c === '\t' ? c : '\ufffd')) : s.replace(UNSAFE_OR_NEWLINE, escape);
}

/** Whole messages on their way out: unsafe characters escaped, the
 *  message's own line breaks kept. */
export function printableLines(s: string): string {
  return s.replace(UNSAFE, escape);
}

/** A word as a shell reads it back: quoted unless it is all safe characters. */
export function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, "'\\''")}'`;
}

/** The closest name within a small edit distance, for "did you mean". */
export function closest(word: string, names: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.min(2, Math.floor(word.length / 3)) + 1;
  for (const n of names) {
    const d = editDistance(word.toLowerCase(), n.toLowerCase());
    if (d < bestDistance) {
      best = n;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  // Optimal string alignment: a swap of two neighbours ("tset") counts once.
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
