/**
 * Credentials recognised by what they look like, wherever they stand: one
 * detector for the environment filter (env.ts) and the sanitised config
 * copies (userconfig.ts). Pure. Each check names what it found, never the
 * value.
 *
 * What it recognises:
 * - tokens by their published shapes (TOKENS below: GitHub, GitLab, npm,
 *   Slack, OpenAI/Anthropic, Stripe, AWS access key ids, Google API keys,
 *   Hugging Face, PyPI, Docker Hub, Sentry, Telegram, age, SendGrid,
 *   Google OAuth), JWTs and PEM private keys (also base64-encoded);
 * - HTTP auth headers (`Authorization: …`, `Bearer …`, `Private-Token: …`,
 *   `X-…-Token/Key/Auth: …`, `Cookie: …`), and `Basic BASE64` of user:password;
 * - URLs with credentials: a password in the userinfo, a user name that
 *   looks like a token (Sentry DSNs: `https://KEY@o1.ingest.sentry.io/2`),
 *   a secret query parameter (querySecret below), a token in the path (a
 *   recognisable token, the token segment of Gemfury and Cloudsmith URLs, or
 *   an opaque segment: 24+ letters and digits mixing upper and lower case),
 *   and webhook URLs (Slack, Discord, Teams, Zapier), whose path is the
 *   secret;
 * - connection strings with `Password=`, `Pwd=`, `AccountKey=`,
 *   `SharedAccessKey=` or `SharedAccessSignature=`, `;`- or space-separated
 *   (libpq's `host=db password=…`).
 *
 * An opaque token in any other place (a bare 40-hex GitHub token, a
 * password after `-p`) has no shape to recognise.
 */

/** What redacted parts of a URL become in a kept value. */
export const PLACEHOLDER = 'REDACTED';

/**
 * Tokens by the prefixes and lengths their issuers document. `mark` is a
 * literal every match contains: checked first, so an ordinary value costs a
 * few string searches and no regular expression is compiled for it (jail's
 * start-up runs this on every variable).
 */
const TOKENS: Array<[kind: string, mark: string, shape: RegExp]> = [
  ['GitHub token', 'gh', /\bgh[opusr]_[A-Za-z0-9]{36,}/],
  ['GitHub token', 'github_pat_', /\bgithub_pat_[A-Za-z0-9_]{22,}/],
  ['GitLab token', 'gl', /\bgl(?:pat|dt|rt|ptt|cbt|ft|imt|soat|oas)-[A-Za-z0-9_-]{20,}/],
  ['npm token', 'npm_', /\bnpm_[A-Za-z0-9]{36}\b/],
  ['Slack token', 'xox', /\bxox[abeoprs]-[A-Za-z0-9-]{10,}/],
  ['Slack token', 'xapp-', /\bxapp-\d-[A-Za-z0-9-]{10,}/],
  ['OpenAI or Anthropic key', 'sk-', /\bsk-[A-Za-z0-9_-]{40,}/],
  ['Stripe key', 'k_', /\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}/],
  ['AWS access key', 'IA', /\b(?:AKIA|ASIA)[A-Z0-9]{16}\b/],
  ['Google API key', 'AIza', /\bAIza[A-Za-z0-9_-]{35}/],
  ['Hugging Face token', 'hf_', /\bhf_[A-Za-z0-9]{34,}/],
  ['PyPI token', 'pypi-AgE', /\bpypi-AgE[A-Za-z0-9_-]{50,}/],
  ['Docker Hub token', 'dckr_pat_', /\bdckr_pat_[A-Za-z0-9_-]{20,}/],
  ['Sentry token', 'sntr', /\bsntr[ysu]_[A-Za-z0-9+/=_-]{30,}/],
  ['Telegram bot token', ':AA', /\b\d{8,10}:AA[A-Za-z0-9_-]{33}\b/],
  ['age key', 'AGE-SECRET-KEY-1', /\bAGE-SECRET-KEY-1[0-9A-Z]{50,}/],
  ['SendGrid key', 'SG.', /\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b/],
  ['Google OAuth token', 'ya29.', /\bya29\.[A-Za-z0-9_-]{20,}/],
  ['JWT', 'eyJ', /\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/],
  ['private key', 'PRIVATE KEY', /-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----/],
];

/** The kind of recognisable token somewhere in a text, or null. */
export function tokenKind(text: string): string | null {
  for (const [kind, mark, shape] of TOKENS) if (text.includes(mark) && shape.test(text)) return kind;
  return null;
}

/** HTTP headers that carry credentials, as written in a command or config;
 *  matched against the lower-cased text (a case-insensitive pattern costs
 *  far more to compile), after a check for the words. */
const AUTH_WORDS = ['authoriz', 'bearer', 'private-token', 'cookie', 'x-'];
const AUTH_HEADER =
  /\b(?:proxy-)?authorization\s*:\s*\S|\b(?:private-token|x-[a-z0-9-]*(?:token|key|auth|secret)[a-z0-9-]*|cookie)\s*:\s*\S|\bbearer\s+[a-z0-9._~+/=-]{16,}/;

/** ADO.NET / ODBC / Azure connection strings (`…;Password=…;`) and libpq's
 *  (`host=db password=…`), lower-cased. */
const CONNECTION_WORDS = ['password', 'pwd', 'accountkey', 'sharedaccess'];
const CONNECTION_SECRET = /(?:^|[;\s])\s*(?:password|pwd|accountkey|sharedaccesskey|sharedaccesssignature)\s*=\s*[^;\s]/;

/** A value that could be a key: long, of token characters, letters and digits. */
export function tokenLike(s: string): boolean {
  return s.length >= 16 && /^[A-Za-z0-9_\-.~+/=%]+$/.test(s) && /\d/.test(s) && /[A-Za-z]/.test(s);
}

/** A path segment that is an opaque token: 24+ letters and digits in both cases. */
function opaque(s: string): boolean {
  return s.length >= 24 && /^[A-Za-z0-9]+$/.test(s) && /[a-z]/.test(s) && /[A-Z]/.test(s) && /\d/.test(s);
}

// ---------------------------------------------------------------------------
// URLs

/** scheme://userinfo@ — greedy up to the last @ before the path, so a
 *  password with a raw @ is removed whole. (U+E000… mark whitespace in git
 *  values: see userconfig.ts.) */
const URL_USERINFO = /([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s/?#\uE000-\uE0FF]*)@/g;

/** user:password@ as the environment filter has always read it: the
 *  password may hold `?` or `#` (`postgres://app:pa#ss@db/app`). */
const URL_PASSWORD = /[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/\s:@]*:[^/\s@]+@/;

/** A whole URL: scheme:// up to whitespace, a quote or a bracket. */
const URL_WHOLE = /([A-Za-z][A-Za-z0-9+.-]*):\/\/([^\s"'`<>\uE000-\uE0FF]*)/g;

/** ssh URLs name a login (`ssh://git@host/`), which is not a secret. */
const isSsh = (scheme: string) => scheme.toLowerCase().includes('ssh');

/**
 * Removes credentials from every URL in a value: all userinfo from http(s)
 * and other URLs (`https://TOKEN@github.com/` carries a token as the user
 * name), the password only from ssh URLs (`ssh://git@host/` stays).
 */
export function stripUrlCredentials(value: string): string {
  if (!value.includes('@')) return value;
  return value.replace(URL_USERINFO, (whole, scheme: string, userinfo: string) => {
    if (!isSsh(scheme)) return `${scheme}://`;
    const colon = userinfo.indexOf(':');
    return colon < 0 ? whole : `${scheme}://${userinfo.slice(0, colon)}@`;
  });
}

export function hasUrlCredentials(value: string): boolean {
  return stripUrlCredentials(value) !== value;
}

/**
 * Query (and fragment) parameters that carry a secret, compared lower-case
 * with `-` as `_`: any name containing token, secret, passw, passphrase,
 * signature, credential, api_key/apikey, private_key, access_key or jwt
 * (`access_token`, `X-Amz-Signature`, `client_secret`); the names `pwd`,
 * `pass`, `sig` (Azure SAS), `auth` (Firebase) and `sas`; and `key`, `code`
 * (Azure Functions) or any name ending in `key` (`subscription-key`) when
 * the value looks like a key (16+ token characters with letters and digits).
 */
const QUERY_NAME = /token|secret|passw|passphrase|signature|credential|api_?key|private_?key|access_?key|jwt/;
const QUERY_EXACT = new Set(['pwd', 'pass', 'sig', 'auth', 'sas']);

function querySecret(rawName: string, value: string): boolean {
  if (value === '' || value === PLACEHOLDER) return false;
  const name = rawName.toLowerCase().replace(/-/g, '_');
  if (QUERY_NAME.test(name) || QUERY_EXACT.has(name)) return true;
  return (name === 'code' || name.endsWith('key')) && tokenLike(value);
}

/** Path segments that are tokens. `segs` are the non-empty segments. */
function pathSecret(host: string, segs: string[], i: number): boolean {
  const seg = segs[i]!;
  if (seg === PLACEHOLDER) return false;
  // Gemfury: https://npm.fury.io/TOKEN/USER/ (without a token: /USER/).
  if ((host === 'fury.io' || host.endsWith('.fury.io')) && i === 0 && segs.length >= 2) return true;
  // Cloudsmith: https://dl.cloudsmith.io/TOKEN/ORG/REPO/… (or public/, basic/).
  if (host === 'dl.cloudsmith.io' && i === 0 && seg !== 'public' && seg !== 'basic') return true;
  return tokenKind(seg) !== null || opaque(seg);
}

/** The host of an authority (`user@host:port`), lower-case. */
function hostOf(authority: string): string {
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  return (host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d*$/, '')).toLowerCase();
}

/** One URL with its secret path segments and query values replaced. */
function redactUrl(url: string, placeholder: string): string {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)([^?#]*)(\?[^#]*)?(#[\s\S]*)?$/.exec(url);
  if (!m) return url;
  const [, scheme, authority = '', path = '', query, fragment] = m;
  const host = hostOf(authority);
  const segs = path.split('/').filter((s) => s !== '');
  let k = -1;
  const newPath = path
    .split('/')
    .map((s) => (s === '' ? s : pathSecret(host, segs, ++k) ? placeholder : s))
    .join('/');
  const params = (part: string | undefined) =>
    part === undefined
      ? ''
      : part[0] +
        part
          .slice(1)
          .split('&')
          .map((p) => {
            const eq = p.indexOf('=');
            return eq > 0 && querySecret(p.slice(0, eq), p.slice(eq + 1)) ? `${p.slice(0, eq)}=${placeholder}` : p;
          })
          .join('&');
  return scheme! + authority + newPath + params(query) + params(fragment);
}

/**
 * Replaces the secret parts of every URL in a value, keeping scheme, host
 * and the rest of the path: token path segments and secret query values
 * become `placeholder`. Userinfo is left to stripUrlCredentials().
 */
export function redactUrlSecrets(value: string, placeholder = PLACEHOLDER): string {
  return value.includes('://') ? value.replace(URL_WHOLE, (url) => redactUrl(url, placeholder)) : value;
}

/** Webhook URLs, lower-cased: whoever has one can post as the integration. */
const WEBHOOK =
  /^https?:\/\/(?:hooks\.slack\.com\/(?:services|workflows|triggers)\/|(?:[a-z]+\.)?discord(?:app)?\.com\/api\/webhooks\/|[^/]*\.webhook\.office\.com\/|outlook\.office(?:365)?\.com\/webhook|hooks\.zapier\.com\/hooks\/)/;
const isWebhook = (url: string) => {
  const lower = url.toLowerCase();
  return lower.includes('hook') && WEBHOOK.test(lower);
};

/** Why the userinfo of a URL is a credential, or null: a password (also in
 *  ssh URLs), or a user name that looks like a key (not in ssh URLs). */
function userinfoReason(scheme: string, userinfo: string): string | null {
  const colon = userinfo.indexOf(':');
  if (colon >= 0 && colon < userinfo.length - 1) return 'URL with a password';
  const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
  if (!isSsh(scheme) && (tokenLike(user) || tokenKind(user) !== null)) return 'URL with credentials';
  return null;
}

/** `Basic BASE64` (an Authorization header's value without its name) whose
 *  BASE64 decodes to `user:password`. */
const BASIC = /\bbasic\s+([A-Za-z0-9+/]{4,}={0,2})(?![A-Za-z0-9+/=])/gi;
function basicCredentials(value: string): boolean {
  for (const [, b64] of value.matchAll(BASIC)) {
    const text = Buffer.from(b64!, 'base64').toString('latin1');
    if (/^[\x20-\x7e]+:[\x20-\x7e]*$/.test(text)) return true;
  }
  return false;
}

/** A PEM private key kept base64-encoded (CI variables often are):
 *  `LS0tLS1CRUdJTi` is `-----BEGIN` in base64. A certificate is no secret. */
const BASE64_PEM = /LS0tLS1CRUdJTi[A-Za-z0-9+/]*={0,2}/g;
function base64KeyKind(value: string): string | null {
  if (!value.includes('LS0tLS1CRUdJTi')) return null;
  for (const [b64] of value.matchAll(BASE64_PEM)) if (tokenKind(Buffer.from(b64, 'base64').toString('latin1')) === 'private key') return 'private key';
  return null;
}

/**
 * Why a value holds a credential whatever its name, or null: the kind of
 * token, `URL with a password`, `URL with credentials`, `secret in URL`,
 * `webhook URL`, `authorization header` or `password in connection string`.
 */
export function valueSecretReason(value: string): string | null {
  if (value.includes('://')) {
    if (value.includes('@')) {
      if (URL_PASSWORD.test(value)) return 'URL with a password';
      for (const [, scheme, userinfo] of value.matchAll(URL_USERINFO)) {
        const reason = userinfoReason(scheme!, userinfo!);
        if (reason !== null) return reason;
      }
    }
    for (const [url] of value.matchAll(URL_WHOLE)) {
      if (isWebhook(url)) return 'webhook URL';
      if (redactUrl(url, PLACEHOLDER) !== url) return 'secret in URL';
    }
  }
  const kind = tokenKind(value) ?? base64KeyKind(value);
  if (kind !== null) return kind;
  const lower = value.toLowerCase();
  if (lower.includes('basic') && basicCredentials(value)) return 'authorization header';
  if (AUTH_WORDS.some((w) => lower.includes(w)) && AUTH_HEADER.test(lower)) return 'authorization header';
  if (lower.includes('=') && CONNECTION_WORDS.some((w) => lower.includes(w)) && CONNECTION_SECRET.test(lower)) return 'password in connection string';
  return null;
}
