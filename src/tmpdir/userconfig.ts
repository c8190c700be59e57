/**
 * Sanitised copies of the user's npm and git config, for the jailed program.
 *
 * $HOME is hidden in the jail, and Landlock answers EACCES, not ENOENT: git
 * treats an unreadable ~/.gitconfig as fatal, and npm without ~/.npmrc
 * silently loses registry, nodedir and cafile. So the jail hands the program
 * a copy (NPM_CONFIG_USERCONFIG, GIT_CONFIG_GLOBAL) that keeps the settings
 * and leaves out what identifies or authenticates the user: tokens,
 * passwords, client keys, credential helpers, user:password in URLs, tokens
 * in URL paths and queries (replaced by REDACTED, so the host stays), and
 * any value with a token or auth header in it (secrets.ts recognises them).
 *
 * Pure: text in, text out. Each parser follows its tool's own reader (npm's
 * `ini` package, git's config.c) so the copy means what the original meant.
 * Comments are never copied: commented-out tokens are common.
 */
import { redactUrlSecrets, stripUrlCredentials, valueSecretReason } from '../policy/secrets.js';

export { hasUrlCredentials, stripUrlCredentials } from '../policy/secrets.js';

export interface Sanitized {
  /** The config to hand the jailed program. */
  text: string;
  /** What was left out, by key and never by value. A key whose URL lost its
   *  credentials but was kept reads `KEY (credentials in URL)`. */
  dropped: string[];
  /** Kept settings that name a file or directory the tool opens (a CA
   *  bundle, an ignore file): under $HOME these are unreadable in the jail,
   *  and npm (cafile) and git (core.excludesFile, commit.template) fail on
   *  that. Grant them read-only, or copy them and append an override. The
   *  path is as written (`~/` unexpanded). */
  files: Array<{ key: string; path: string }>;
}

// ---------------------------------------------------------------------------
// Values

/** Whether a URL in the value carries credentials: userinfo, a token path
 *  segment, a secret query value. */
const urlHasSecrets = (v: string) => redactUrlSecrets(stripUrlCredentials(v)) !== v;

/** For `dropped`: a key that embeds a URL (git subsections) shows no
 *  userinfo, token path segment or secret query value. */
function redact(name: string): string {
  return redactUrlSecrets(name.replace(/([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s/?#]*)@/g, (_whole, scheme: string) => `${scheme}://***@`), '***');
}

/**
 * A kept value without credentials: userinfo removed from its URLs
 * (stripUrlCredentials), token path segments and secret query values
 * replaced by REDACTED (redactUrlSecrets), so a registry or proxy keeps its
 * host. `changed` when either happened; `reason` when what is left still
 * holds a credential (a token, an auth header, a webhook URL): such a
 * setting is left out whole.
 */
function cleanValue(value: string): { value: string; changed: boolean; reason: string | null } {
  const clean = redactUrlSecrets(stripUrlCredentials(value));
  return { value: clean, changed: clean !== value, reason: valueSecretReason(unmark(clean)) };
}

/** Words that mark a secret in a setting's name (compared lower-case). */
const SECRET_WORDS = /token|secret|passw|credential|api[-_]?key|private[-_]?key/;

// ---------------------------------------------------------------------------
// npm

/**
 * npmrc settings that authenticate or identify: compared with the part after
 * the last `:`, so `//registry.example/:_authToken` counts as `_authToken`.
 * `cert`/`key` are an inline client certificate and its private key;
 * `certfile`/`keyfile` point at them. `email` is personal, and nothing npm
 * runs in a jail uses it (it went with legacy auth).
 */
const NPM_SECRETS = new Set(['_authtoken', '_auth', '_password', 'password', 'username', 'email', 'cert', 'key', 'certfile', 'keyfile', 'otp', 'tokenhelper']);

/** `npm version` would sign with keys the jail hides, and fail: as git's gpgSign. */
const NPM_SIGNING = new Set(['sign-git-commit', 'sign-git-tag']);

/** npm settings that name a file or directory npm or node-gyp opens. */
const NPM_FILES = new Set(['cafile', 'nodedir', 'python', 'script-shell', 'init-module']);

export function npmKeyIsSecret(key: string): boolean {
  const name = key.slice(key.lastIndexOf(':') + 1).toLowerCase();
  return NPM_SECRETS.has(name) || name.endsWith('email') || name.endsWith('_auth') || name.endsWith('_key') || SECRET_WORDS.test(name);
}

/** npm's own `ini` package (the version npm 11 bundles), loaded on the first
 *  .npmrc to sanitise: jail's start-up does not pay for it otherwise. */
interface Ini {
  safe(value: unknown): string;
  /** The value a raw key or value stands for: a string, or what a 'quoted' JSON text parses to. */
  unsafe(raw: string): unknown;
}
let ini: Ini | undefined;
const loadIni = (): Ini => (ini ??= require('ini') as Ini);

/** ini's line pattern: `[section]`, or `key` with an optional `=value`. */
const INI_LINE = /^\[([^\]]*)\]\s*$|^([^=]+)(=(.*))?$/;

/**
 * ~/.npmrc → a copy without credentials, read line by line as ini's
 * decode() reads it, with npm's own `ini` for what a raw key or value means
 * (unsafe) and for writing one (safe): `key=value`, whitespace around both
 * trimmed, "quoted" and 'quoted' values ('JSON' is parsed), `;` and `#`
 * comments, also after an unquoted value, `key[]` arrays, `__proto__`
 * skipped, true, false and null. (ini's decode() itself reads a whole file
 * into an object, which loses the lines this needs; tests check the copy
 * against it.)
 *
 * - Secret settings (npmKeyIsSecret) are left out, scoped or not, and so
 *   is signing (`sign-git-commit`, `sign-git-tag`), which needs hidden keys.
 * - URLs lose their user:password, token path segments (Gemfury's
 *   `https://npm.fury.io/TOKEN/user/`, Cloudsmith's) and secret query values
 *   (`?token=`), which become REDACTED, but keep their host (`registry`,
 *   `@scope:registry`, `proxy`, …): dropping a scoped registry would send its
 *   packages to the public registry (dependency confusion), dropping a proxy
 *   would bypass it. The request then fails with a clear 401, 403 or 407
 *   that names the host.
 * - A value that still holds a credential (a recognisable token, an auth
 *   header: secrets.ts) is left out with its key.
 * - `[sections]` are left out with everything after them: npm reads them
 *   as unknown object-valued settings and only warns.
 * - A line without `=` (a bare word: npm reads it as `word=true`) is left
 *   out and reported by line number: it is more often a pasted token than a
 *   setting.
 *
 * A kept line is copied verbatim unless it holds `;` or `#` (which may start
 * a comment) or lost a credential: then it is written as npm's own writer
 * (ini's safe) writes it, which ini reads back as the same value.
 */
export function sanitizeNpmrc(text: string): Sanitized {
  const { safe, unsafe } = loadIni();
  const out: string[] = [];
  const dropped: string[] = [];
  const files: Sanitized['files'] = [];
  let inSection = false;
  text.split(/\r\n|\r|\n/).forEach((line, i) => {
    if (inSection || !line || /^\s*[;#]/.test(line) || /^\s*$/.test(line)) return;
    const m = INI_LINE.exec(line);
    if (!m) return; // ini skips it too
    if (m[1] !== undefined) {
      inSection = true; // also [__proto__], whose keys ini reads into nothing
      dropped.push(`[${redact(String(unsafe(m[1])))}]`);
      return;
    }
    if (m[3] === undefined) {
      dropped.push(`line ${i + 1} (no '=')`);
      return;
    }
    // As ini's decode(): key[] is an array, __proto__ is skipped, and the
    // values true, false and null are JSON.
    const rawKey = unsafe(m[2]!);
    const bracketed = typeof rawKey === 'string' && rawKey.length > 2 && rawKey.endsWith('[]');
    const key = bracketed ? rawKey.slice(0, -2) : String(rawKey); // as an object key
    if (key === '__proto__') return;
    const raw = unsafe(m[4]!);
    const decoded = raw === 'true' || raw === 'false' || raw === 'null' ? (JSON.parse(raw) as unknown) : raw;
    // A per-registry key is a URL without its scheme: //npm.fury.io/TOKEN/u/:always-auth
    const keyUrl = key.startsWith('//') ? 'https:' + key : key;
    const shown = key.startsWith('//') ? redact(keyUrl).slice('https:'.length) : redact(key);
    if (npmKeyIsSecret(key) || NPM_SIGNING.has(key) || urlHasSecrets(keyUrl) || valueSecretReason(keyUrl) !== null) {
      dropped.push(shown);
      return;
    }
    let value = decoded;
    // A 'quoted' value may be JSON for a number or an object: checked as
    // its text, and left out whole when any credential is in it.
    const isText = typeof value === 'string';
    const clean = cleanValue(isText ? (value as string) : (JSON.stringify(value) ?? ''));
    if (clean.reason !== null || (clean.changed && !isText)) {
      dropped.push(shown);
      return;
    }
    let rewrite = /[;#]/.test(line);
    if (clean.changed) {
      dropped.push(`${shown} (credentials in URL)`);
      value = clean.value;
      rewrite = true;
    }
    if (isText && NPM_FILES.has(key) && value !== '') files.push({ key, path: value as string });
    const name = safe(bracketed ? key + '[]' : key);
    if (!rewrite) out.push(line);
    else if (isText || typeof value === 'boolean' || value === null) out.push(`${name}=${safe(value)}`);
    else out.push(`${name}='${JSON.stringify(value)}'`); // ini reads 'JSON' back as the same value
  });
  return { text: out.length ? out.join('\n') + '\n' : '', dropped: unique(dropped), files };
}

// ---------------------------------------------------------------------------
// git

/** Settings that name a file or directory git opens. */
const GIT_FILES = new Set([
  'core.excludesfile',
  'core.attributesfile',
  'core.hookspath',
  'commit.template',
  'http.sslcainfo',
  'http.sslcapath',
  'mailmap.file',
  'blame.ignorerevsfile',
  'init.templatedir',
  'diff.orderfile',
]);

/** Signing cannot work in the jail (no keys, no agent): with gpgSign on,
 *  every commit would fail. */
const GIT_SIGNING = new Set(['user.signingkey', 'commit.gpgsign', 'tag.gpgsign', 'tag.forcesignannotated', 'push.gpgsign', 'rebase.gpgsign']);

/** http.* settings that authenticate: auth headers, cookies, client certificates. */
const GIT_HTTP_SECRETS = new Set(['extraheader', 'cookiefile', 'sslkey', 'sslcert', 'sslkeypasswordprotected', 'sslcertpasswordprotected']);

/**
 * Why a git setting is left out, or null to keep it. `section` and `key` are
 * lower-case, `sub` (the subsection) as written.
 */
export function gitDropReason(section: string, sub: string | null, key: string, value: string | null): string | null {
  const name = `${section}.${key}`;
  if (section === 'include' || section === 'includeif') return 'include'; // unreadable targets are fatal to git
  if (section === 'credential') return 'credential helper';
  if (section === 'gpg' || GIT_SIGNING.has(name)) return 'signing';
  if (sub !== null && urlHasSecrets(sub)) return 'credentials in URL';
  if (section === 'http' && GIT_HTTP_SECRETS.has(key)) return 'authentication';
  if (name === 'core.askpass' || name === 'sendemail.smtppass') return 'authentication';
  if (section === 'url' && value !== null && urlHasSecrets(value)) return 'credentials in URL';
  if (name !== 'transfer.credentialsinurl' && SECRET_WORDS.test(key)) return 'secret name';
  return null;
}

/**
 * ~/.gitconfig → a copy without credentials, read as git's config.c reads
 * it: `[section]`, `[section "subsection"]`, `[section.subsection]`, keys
 * with or without `= value`, quotes, escapes, `\` continuation lines, `#`
 * and `;` comments, also inline; a key may follow a header on its line.
 *
 * Left out (gitDropReason): `include` and `includeIf` (git tolerates a
 * missing include but dies on an unreadable one, and the targets are under
 * $HOME), `credential.*`, http auth headers and client certificates,
 * `core.askPass`, URL rewrites and `http.<url>` sections whose URL carries
 * credentials (userinfo, a token path segment, a secret query), signing
 * (`gpg.*`, `user.signingKey`, `*.gpgSign`), keys named like secrets
 * (`github.token`), and any value that holds a recognisable token or an auth
 * header (an alias `!gh … --token ghp_…`, `!curl -H 'Authorization: …'`).
 * Values elsewhere keep their URLs without credentials (`remote.*.url`,
 * `http.proxy`: userinfo removed, token path segments and secret query
 * values REDACTED). Everything else is kept: aliases, diff and merge
 * drivers, hooksPath and filters run commands, but those run inside the
 * jail too.
 *
 * Kept settings are written as `git config` writes them. A line git cannot
 * parse (where git would stop with "bad config line") is left out and
 * reported by number, with the keys under a bad section header.
 */
export function sanitizeGitconfig(text: string): Sanitized {
  const out: string[] = [];
  const dropped: string[] = [];
  const files: Sanitized['files'] = [];
  for (const e of gitEntries(text)) {
    if (e.kind === 'error') {
      dropped.push(`line ${e.line} (not valid git config)`);
      continue;
    }
    if (gitDropReason(e.top, e.sub, e.key, e.value === null ? null : unmark(e.value)) !== null) {
      dropped.push(e.name);
      continue;
    }
    let value = e.value;
    if (value !== null) {
      const clean = cleanValue(value);
      if (clean.reason !== null) {
        dropped.push(e.name); // an alias with a token or an auth header in it
        continue;
      }
      if (clean.changed) dropped.push(`${e.name} (credentials in URL)`);
      value = clean.value;
      if (GIT_FILES.has(`${e.top}.${e.key}`) && value !== '') files.push({ key: e.name, path: unmark(value) });
    }
    if (!e.section.written) {
      out.push(e.section.header);
      e.section.written = true;
    }
    out.push(value === null ? `\t${e.rawKey}` : `\t${e.rawKey} = ${encodeGitValue(value)}`);
  }
  return { text: out.length ? out.join('\n') + '\n' : '', dropped: unique(dropped), files };
}

/**
 * The settings in a git config that hold credentials, by the sanitiser's
 * rules (an auth header, credentials or a token in a URL or a subsection, a
 * key named like a secret, a value with a recognisable token), as git names
 * them, subsection URLs redacted; never a value. For a project's
 * `.git/config`, which a CI checkout fills with
 * `http.https://github.com/.extraheader` and token URLs, and which the jail
 * cannot hide inside a granted project: the caller warns with these names.
 * Includes, helpers and signing are not credentials and are not listed.
 */
export function gitConfigSecrets(text: string): string[] {
  const found: string[] = [];
  for (const e of gitEntries(text)) {
    if (e.kind === 'error') continue;
    const value = e.value === null ? '' : unmark(e.value);
    const reason = gitDropReason(e.top, e.sub, e.key, value);
    const holds =
      (e.sub !== null && urlHasSecrets(e.sub)) ||
      (value !== '' &&
        (reason === 'credentials in URL' ||
          reason === 'secret name' ||
          (e.top === 'http' && e.key === 'extraheader') ||
          urlHasSecrets(value) ||
          valueSecretReason(value) !== null));
    if (holds) found.push(e.name);
  }
  return unique(found);
}

interface GitSection {
  header: string;
  written: boolean;
}

type GitEntry =
  | {
      kind: 'entry';
      section: GitSection;
      /** Section name, lower-case, and subsection as written: [a.b "c"] is a, b.c. */
      top: string;
      sub: string | null;
      /** Key lower-case, and as written. */
      key: string;
      rawKey: string;
      /** As git names the setting (`remote.origin.url`), URLs in the subsection redacted. */
      name: string;
      value: string | null;
    }
  | { kind: 'error'; line: number };

/** The settings of a git config with their sections; lines git rejects as
 *  errors, and the keys under a bad section header left out with it. */
function gitEntries(text: string): GitEntry[] {
  const entries: GitEntry[] = [];
  let section: (GitSection & { base: string; sub: string | null }) | null = null;
  let badSection = false;
  for (const ev of parseGitconfig(text)) {
    if (ev.kind === 'error') {
      entries.push({ kind: 'error', line: ev.line });
      if (ev.header) badSection = true;
      continue;
    }
    if (ev.kind === 'section') {
      badSection = false;
      const sub = ev.sub === null ? '' : ` "${ev.sub.replace(/[\\"]/g, (c) => '\\' + c)}"`;
      section = { base: ev.base, sub: ev.sub, header: `[${ev.base}${sub}]`, written: false };
      continue;
    }
    if (badSection) continue;
    if (section === null) {
      entries.push({ kind: 'error', line: ev.line }); // a key before any section
      continue;
    }
    const dot = section.base.indexOf('.');
    const top = dot < 0 ? section.base : section.base.slice(0, dot);
    // [a.b "c"] is a.b.c: the subsection is everything between the first and last dot.
    const sub = dot < 0 ? section.sub : section.base.slice(dot + 1) + (section.sub === null ? '' : '.' + section.sub);
    const key = ev.key.toLowerCase();
    const name = `${top}${sub === null ? '' : '.' + redact(sub)}.${key}`;
    entries.push({ kind: 'entry', section, top, sub, key, rawKey: ev.key, name, value: ev.value });
  }
  return entries;
}

/**
 * Whitespace inside a value that was neither quoted nor escaped is written
 * back as it was, unquoted, because git versions read it differently (older
 * ones turn a tab into a space): the reader marks it by moving the character
 * to U+E000 + its code.
 */
const LOOSE = 0xe000;
const mark = (c: string) => String.fromCharCode(LOOSE + c.charCodeAt(0));
const unmark = (v: string) => v.replace(/[\uE000-\uE0FF]/g, (c) => String.fromCharCode(c.charCodeAt(0) - LOOSE));

/** As git's write_pair(): quoted when it starts or ends with whitespace or
 *  holds a comment character; `\`, `"`, newline, tab and backspace escaped;
 *  marked whitespace raw, outside the quotes. */
function encodeGitValue(v: string): string {
  if (v === '') return '""';
  const quote = /^\s|\s$|[;#\r]/.test(v) ? '"' : '';
  const esc: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\t': '\\t', '\b': '\\b' };
  const body = v.replace(/[\\"\n\t\b]|[\uE000-\uE0FF]+/g, (c) => esc[c] ?? quote + unmark(c) + quote);
  return quote + body + quote;
}

type GitEvent =
  | { kind: 'section'; base: string; sub: string | null }
  | { kind: 'entry'; key: string; value: string | null; line: number }
  | { kind: 'error'; line: number; header: boolean };

/** Reads characters as git's get_next_char(): CRLF is LF, end of input is LF. */
class Reader {
  private i = 0;
  line = 1;
  eof = false;
  last = '';
  constructor(private readonly s: string) {}
  next(): string {
    let c: string;
    if (this.i >= this.s.length) {
      this.eof = true;
      c = '\n';
    } else {
      c = this.s[this.i++]!;
      if (c === '\r' && this.s[this.i] === '\n') c = this.s[this.i++]!;
      if (c === '\n') this.line++;
    }
    this.last = c;
    return c;
  }
  /** After an error: on to the next line, unless the error was at its end. */
  skipLine(): void {
    while (this.last !== '\n') this.next();
  }
}

const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
const isAlpha = (c: string) => /^[A-Za-z]$/.test(c);
const isKeyChar = (c: string) => /^[A-Za-z0-9-]$/.test(c);

/** git's config.c parse loop, yielding sections, entries and errors. */
function parseGitconfig(text: string): GitEvent[] {
  const r = new Reader(text.replace(/^\uFEFF/, ''));
  const events: GitEvent[] = [];
  let comment = false;
  for (;;) {
    const c = r.next();
    if (r.eof) break;
    if (c === '\n') {
      comment = false;
      continue;
    }
    if (comment || isSpace(c)) continue;
    if (c === '#' || c === ';') {
      comment = true;
      continue;
    }
    const line = r.line;
    if (c === '[') {
      const h = readHeader(r);
      if (h) events.push({ kind: 'section', ...h });
      else {
        events.push({ kind: 'error', line, header: true });
        r.skipLine();
      }
      continue;
    }
    if (!isAlpha(c)) {
      events.push({ kind: 'error', line, header: false });
      r.skipLine();
      continue;
    }
    let key = c;
    let d = r.next();
    while (!r.eof && isKeyChar(d)) {
      key += d;
      d = r.next();
    }
    while (d === ' ' || d === '\t') d = r.next();
    if (d === '\n') {
      events.push({ kind: 'entry', key, value: null, line });
      continue;
    }
    const value = d === '=' ? readValue(r) : null;
    if (value === null) {
      events.push({ kind: 'error', line, header: false });
      r.skipLine();
    } else events.push({ kind: 'entry', key, value, line });
  }
  return events;
}

/** After `[`: `name]`, `name.sub]` or `name "sub"]`; null when malformed. */
function readHeader(r: Reader): { base: string; sub: string | null } | null {
  let base = '';
  for (;;) {
    const c = r.next();
    if (r.eof) return null;
    if (c === ']') return base === '' ? null : { base, sub: null };
    if (isSpace(c)) break;
    if (!isKeyChar(c) && c !== '.') return null;
    base += c.toLowerCase();
  }
  let c = r.last;
  do {
    if (c === '\n') return null;
    c = r.next();
  } while (isSpace(c));
  if (c !== '"') return null;
  let sub = '';
  for (;;) {
    let d = r.next();
    if (d === '\n') return null;
    if (d === '"') break;
    if (d === '\\') {
      d = r.next();
      if (d === '\n') return null;
    }
    sub += d;
  }
  if (r.next() !== ']' || base === '') return null;
  return { base, sub };
}

/** After `=`: git's parse_value(); null when malformed (an unclosed quote,
 *  an unknown escape). */
function readValue(r: Reader): string | null {
  let quote = false;
  let comment = false;
  let value = '';
  let trimTo = -1;
  for (;;) {
    let c = r.next();
    if (c === '\n') {
      if (quote) return null;
      return trimTo >= 0 ? value.slice(0, trimTo) : value;
    }
    if (comment) continue;
    if (isSpace(c) && !quote) {
      if (trimTo < 0) trimTo = value.length;
      if (value.length) value += mark(c);
      continue;
    }
    if (!quote && (c === ';' || c === '#')) {
      comment = true;
      continue;
    }
    trimTo = -1;
    if (c === '\\') {
      c = r.next();
      if (c === '\n') continue;
      const esc: Record<string, string> = { t: '\t', b: '\b', n: '\n', '\\': '\\', '"': '"' };
      const e = esc[c];
      if (e === undefined) return null;
      value += e;
      continue;
    }
    if (c === '"') {
      quote = !quote;
      continue;
    }
    value += c;
  }
}

function unique(xs: string[]): string[] {
  return [...new Set(xs)];
}
