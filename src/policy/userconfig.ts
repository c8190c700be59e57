/**
 * Sanitised copies of the user's npm and git config. Hiding ~/.npmrc loses
 * settings people rely on (registry, nodedir, cafile), and git treats an
 * unreadable ~/.gitconfig as fatal; so the jailed program gets a copy, in
 * its private TMPDIR, with the credentials taken out. Pure: text in, text out.
 */

export interface Sanitized {
  text: string;
  /** Keys (never values) that were left out. */
  dropped: string[];
}

/** A URL with userinfo: https://user:pass@host, https://token@host. */
const URL_USERINFO = /[a-z][a-z0-9+.-]*:\/\/[^/\s@]+@/i;

/** npmrc keys that carry or point at credentials, with or without a //host/: scope. */
const NPM_SECRET_KEY = /(^|:)(_authtoken|_auth|_password|username|email|certfile|keyfile|cert|key|otp|tokenhelper)$/i;

export function sanitizeNpmrc(text: string): Sanitized {
  const dropped: string[] = [];
  const kept = text.split('\n').filter((line) => {
    const t = line.trim();
    if (t === '' || t.startsWith(';') || t.startsWith('#') || t.startsWith('[')) return true;
    const eq = t.indexOf('=');
    const key = (eq < 0 ? t : t.slice(0, eq)).trim();
    const value = eq < 0 ? '' : t.slice(eq + 1).trim();
    if (NPM_SECRET_KEY.test(key) || URL_USERINFO.test(value)) {
      dropped.push(key);
      return false;
    }
    return true;
  });
  return { text: kept.join('\n'), dropped };
}

/** git config sections dropped whole: they hold credentials or point at
 *  files the jail hides (an unreadable include is fatal to git). */
const GIT_DROP_SECTION = /^(credential|include|includeif|gpg)$/;
/** Keys dropped: auth headers, and signing, which needs keys the jail hides. */
const GIT_DROP_KEY = /^(http\.extraheader|user\.signingkey|commit\.gpgsign|tag\.gpgsign|push\.gpgsign)$/;

export function sanitizeGitconfig(text: string): Sanitized {
  const dropped: string[] = [];
  const out: string[] = [];
  let section = '';
  let skipSection = false;
  let skipContinuation = false;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (skipContinuation) {
      skipContinuation = t.endsWith('\\');
      continue;
    }
    const header = /^\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]/.exec(t);
    if (header) {
      section = header[1]!.toLowerCase();
      const sub = header[2];
      // [url "https://x-access-token:…@github.com/"] insteadOf = …
      skipSection = GIT_DROP_SECTION.test(section) || (sub !== undefined && URL_USERINFO.test(sub));
      if (skipSection) dropped.push(sub === undefined ? section : `${section} "${sub.replace(URL_USERINFO, (m) => m.replace(/\/\/.*@/, '//…@'))}"`);
      else out.push(line);
      continue;
    }
    if (skipSection) continue;
    if (t === '' || t.startsWith('#') || t.startsWith(';')) {
      out.push(line);
      continue;
    }
    const eq = t.indexOf('=');
    const name = (eq < 0 ? t : t.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? '' : t.slice(eq + 1).trim();
    const key = `${section.split('.')[0]}.${name}`;
    if (GIT_DROP_KEY.test(key) || URL_USERINFO.test(value)) {
      dropped.push(key);
      skipContinuation = t.endsWith('\\');
      continue;
    }
    out.push(line);
  }
  return { text: out.join('\n'), dropped };
}
