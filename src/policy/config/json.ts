/**
 * Config files as JSON with comments (jail.config.json, like tsconfig.json)
 * or strict JSON (package.json), read with jsonc-parser, the parser VS Code
 * uses. A problem is reported at its line and column, with the line and a
 * caret under it. The parser is loaded only when a config file exists.
 */
import { PolicyError } from '../../errors.js';
import { printable } from '../../text.js';

type Jsonc = typeof import('jsonc-parser');
let jsonc: Jsonc | undefined;
// Loaded on first use: most runs read no config file.
const parser = (): Jsonc => (jsonc ??= require('jsonc-parser') as Jsonc);

/** jsonc-parser's error codes, in words. */
const WORDS: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'not a number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after a property name",
  CommaExpected: "expected ','",
  CloseBraceExpected: "expected '}'",
  CloseBracketExpected: "expected ']'",
  EndOfFileExpected: 'unexpected text after the end of the JSON value',
  InvalidCommentToken: 'comment not closed',
  UnexpectedEndOfComment: 'comment not closed',
  UnexpectedEndOfString: 'string not closed',
  UnexpectedEndOfNumber: 'number not finished',
  InvalidUnicode: 'bad \\u escape in a string',
  InvalidEscapeCharacter: 'bad escape in a string',
  InvalidCharacter: 'control character or line break in a string',
};

/**
 * `text` as JSON; `comments` allows // and /* *\/ comments (jail.config.json).
 * Throws PolicyError naming the file, line and column.
 */
export function parseJson(text: string, file: string, opts: { comments?: boolean } = {}): unknown {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const p = parser();
  const errors: import('jsonc-parser').ParseError[] = [];
  // jsonc-parser recurses per level: `[[[…]]]` 4 MiB deep overflows the stack.
  deep(file, () => p.parse(body, errors, { allowTrailingComma: false, disallowComments: !opts.comments, allowEmptyContent: false }));
  const first = errors[0];
  if (first) {
    const at = Math.min(first.offset, body.length);
    const { line, col, excerpt, caret } = pointAt(body, at);
    throw new PolicyError(
      `${file}:${line}:${col}: not valid JSON: ${describe(p.printParseErrorCode(first.error), body, at, !!opts.comments)}\n    ${excerpt}\n    ${caret}`,
      opts.comments
        ? 'fix the file: strings and property names take double quotes, and lists and objects have no trailing commas.'
        : 'fix the file: JSON has no comments or trailing commas, and strings take double quotes.',
      file,
    );
  }
  // Valid: JSON.parse the text with comments blanked out, so values (and
  // keys such as "__proto__") mean exactly what JSON says they mean.
  return deep(file, () => JSON.parse(opts.comments ? p.stripComments(body, ' ') : body) as unknown);
}

/** `f()`, with a stack overflow (a file nested too deeply) as a PolicyError. */
function deep<T>(file: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new PolicyError(`${file}: nested too deeply to read.`, 'a config holds a few levels of objects and arrays.', file);
  }
}

/** What is wrong at `at`, in words, with what was found there. */
function describe(code: string, text: string, at: number, comments: boolean): string {
  const c = text[at];
  if (code === 'InvalidCommentToken' && !comments) return 'unexpected comment (package.json is plain JSON)';
  if (code === 'InvalidSymbol' && c !== undefined) {
    if (c === "'") return `unexpected "'" (strings take double quotes)`;
    const word = /[A-Za-z_$][\w$-]*/y;
    word.lastIndex = at;
    const m = word.exec(text);
    return m ? `unexpected word ${JSON.stringify(m[0])} (strings take double quotes)` : `unexpected ${showChar(c)}`;
  }
  const what = WORDS[code] ?? code;
  if (!FOUND.includes(code)) return what;
  if (c === undefined) return `${what}, found the end of the file`;
  const trailing = (c === ']' || c === '}') && /,\s*$/.test(text.slice(0, at)) ? ' (JSON has no trailing commas)' : '';
  return `${what}, found ${showChar(c)}${trailing}`;
}

const FOUND = ['ValueExpected', 'PropertyNameExpected', 'CommaExpected', 'ColonExpected', 'CloseBraceExpected', 'CloseBracketExpected'];

function showChar(c: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(c) || c === "'" ? JSON.stringify(c) : `'${c}'`;
}

const EXCERPT = 100;

/** 1-based line and column of an offset, the line (safe to print, cut to
 *  about 100 characters around the column) and a caret under the column. */
export function pointAt(text: string, at: number): { line: number; col: number; excerpt: string; caret: string } {
  let line = 1;
  let start = 0;
  for (let k = 0; k < at && k < text.length; k++) {
    if (text[k] === '\n') {
      line++;
      start = k + 1;
    }
  }
  const col = at - start + 1;
  const end = text.indexOf('\n', start);
  let shown = text.slice(start, end < 0 ? text.length : end).replace(/\r$/, '');
  let pos = col - 1;
  if (shown.length > EXCERPT) {
    const from = Math.max(0, pos - 60);
    const cut = shown.slice(from, from + EXCERPT);
    shown = (from > 0 ? '…' : '') + cut + (from + EXCERPT < shown.length ? '…' : '');
    pos = pos - from + (from > 0 ? 1 : 0);
  }
  // One character for one: the caret stays under its column.
  shown = printable(shown, { replace: true });
  const caret = shown.slice(0, pos).replace(/[^\t]/g, ' ') + '^';
  return { line, col, excerpt: shown, caret };
}
