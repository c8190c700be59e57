/**
 * `--allow-host HOST[:PORT]`: which hosts the jailed program may reach
 * through the supervisor's egress proxy. Pure: the servers (server.ts) ask
 * `matchHost` about every connection and every name lookup.
 *
 * A rule names a host and one port (443 unless given), never a scheme or a
 * path: the proxy sees CONNECT targets and TLS bytes, not URLs. Names are
 * compared lowercase and as given (punycode stays punycode); IP literals in
 * a canonical form, so `[0:0::1]` and `::1` are one address.
 */
import { PolicyError } from '../errors.js';
import { printable } from '../text.js';

export interface HostRule {
  /** lowercase, no trailing dot; for wildcards the part after "*." ; IPv6 without brackets */
  host: string;
  /** "*.example.com": any subdomain at any depth, NOT example.com itself. */
  wildcard: boolean;
  /** 443 unless given: ":80" must be explicit. */
  port: number;
  kind: 'name' | 'ipv4' | 'ipv6';
  /** As the user wrote it. */
  given: string;
  /** Addresses of this machine and its link allowed too: a rule that
   *  stands for --allow-connect PORT, which lets the command connect to
   *  any address on that port directly anyway. */
  internal?: boolean;
}

export const DEFAULT_PORT = 443;

/** tldts holds the whole public-suffix list (about 100 kB): loaded only
 *  when a wildcard is parsed. */
let tldts: typeof import('tldts') | undefined;
const loadTldts = (): typeof import('tldts') => (tldts ??= require('tldts') as typeof import('tldts'));

const FLAG = '--allow-host';
const LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** `--allow-host` as the user wrote it, checked. Throws PolicyError. */
export function parseAllowHost(given: string): HostRule {
  const fail = (why: string, hint?: string): never => {
    throw new PolicyError(`${FLAG} ${JSON.stringify(printable(given))}: ${why}`, hint);
  };
  if (given === '') fail('no host given.', `name a host: ${FLAG} registry.npmjs.org, or ${FLAG} example.com:8080.`);
  // Non-ASCII first: everything after this may print the input as it is.
  if (/[^\x21-\x7e]/.test(given)) {
    if (/\s/.test(given)) fail('a host has no spaces.', `give one host per ${FLAG}.`);
    fail('not an ASCII host name.', `give an internationalised name in its xn-- form (punycode), e.g. ${FLAG} xn--bcher-kva.example.`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(given) || given.includes('/')) {
    fail(`${hostOnly(given)}.`, `a rule is a host and a port (${DEFAULT_PORT} unless given), never a scheme or a path.`);
  }

  let hostPart: string;
  let portPart: string | undefined;
  let bracketed = false;
  const br = /^\[([^\]]*)\](?::(.*))?$/.exec(given);
  if (br) {
    [hostPart, portPart, bracketed] = [br[1] ?? '', br[2], true];
  } else if (given.startsWith('[')) {
    return fail('unbalanced brackets.', `write an IPv6 address as ${FLAG} [2001:db8::1] or ${FLAG} [2001:db8::1]:8080.`);
  } else if ((given.match(/:/g) ?? []).length >= 2) {
    // A bare IPv6 literal: "::1:8080" is itself an address, so no port can follow it.
    const v6 = canonicalIpv6(given);
    if (v6 !== null) return { host: v6, wildcard: false, port: DEFAULT_PORT, kind: 'ipv6', given };
    const cut = given.lastIndexOf(':');
    const head = given.slice(0, cut);
    const example = canonicalIpv6(head) !== null ? `[${head}]:${given.slice(cut + 1)}` : '[2001:db8::1]:8080';
    return fail('not an IPv6 address; with a port, an IPv6 address needs brackets.', `write ${FLAG} ${example}.`);
  } else {
    const colon = given.indexOf(':');
    [hostPart, portPart] = colon < 0 ? [given, undefined] : [given.slice(0, colon), given.slice(colon + 1)];
  }

  let port = DEFAULT_PORT;
  if (portPart !== undefined) {
    port = /^\d{1,5}$/.test(portPart) ? Number(portPart) : NaN;
    if (!(port >= 1 && port <= 65535)) fail(`${JSON.stringify(portPart)} is not a TCP port.`, `give a port from 1 to 65535 (443 when left out), e.g. ${FLAG} example.com:8080.`);
  }

  if (bracketed) {
    const v6 = canonicalIpv6(hostPart);
    if (v6 === null) fail('not an IPv6 address in the brackets.', `write ${FLAG} [2001:db8::1] or ${FLAG} [2001:db8::1]:8080; names and IPv4 go without brackets.`);
    return { host: v6 as string, wildcard: false, port, kind: 'ipv6', given };
  }

  let host = hostPart.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (host === '') fail('no host given.', `name a host: ${FLAG} example.com:${port}.`);

  const wildcard = host.startsWith('*.');
  if (wildcard) host = host.slice(2);
  if (host.includes('*') || (wildcard && host === '') || host === '*') {
    fail(
      'a wildcard must be the whole leftmost label, followed by a domain.',
      `write ${FLAG} '*.example.com' for every subdomain of example.com (example.com itself needs a ${FLAG} of its own).`,
    );
  }

  const labels = host.split('.');
  if (!labels.every((l) => LABEL.test(l)) || host.length > 253) {
    fail('not a valid host name.', "a host name is labels of letters, digits, '-' and '_' joined by dots, e.g. registry.npmjs.org.");
  }
  // A name ending in a number is an IPv4 address or nothing (WHATWG URL's rule).
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) {
    if (wildcard || !IPV4.test(host)) fail('not a valid IPv4 address.', `write four numbers from 0 to 255, e.g. ${FLAG} 192.0.2.10:8080.`);
    return { host, wildcard: false, port, kind: 'ipv4', given };
  }

  if (wildcard && loadTldts().getPublicSuffix(host, { allowPrivateDomains: true }) === host) {
    // "*.github.io" would let the program reach anyone's site: refused like a bare "*.com".
    fail(
      `"${host}" is a public suffix: anyone can register a name under it.`,
      `allow the domains you mean, e.g. ${FLAG} '*.example.${host}' or ${FLAG} example.${host}.`,
    );
  }
  return { host, wildcard, port, kind: 'name', given };
}

/**
 * The rule that lets the program reach `host:port`, or null. `host` is what
 * a client sent: a name in any case, perhaps with a trailing dot, or an IP
 * literal (IPv6 perhaps in brackets). A name matches only name rules, an
 * address only address rules.
 */
export function matchHost(rules: readonly HostRule[], host: string, port: number): HostRule | null {
  const h = normalizeHost(host);
  if (h === null) return null;
  return rules.find((r) => r.port === port && matches(r, h)) ?? null;
}

/** The first rule for `name` on any port: the DNS server answers these. */
export function matchName(rules: readonly HostRule[], name: string): HostRule | null {
  const h = normalizeHost(name);
  if (h === null || h.kind !== 'name') return null;
  return rules.find((r) => matches(r, h)) ?? null;
}

/** The flag that would allow `host:port`, for messages. */
export function allowFlag(host: string, port: number): string {
  const h = normalizeHost(host) ?? { host, kind: 'name' };
  const shown = h.kind === 'ipv6' ? `[${h.host}]` : h.host;
  return `${FLAG} ${shown}${port === DEFAULT_PORT ? '' : `:${port}`}`;
}

/** A host as clients send it, in the form rules hold: lowercase names
 *  without the trailing dot, canonical IP literals. Null when it is neither. */
export function normalizeHost(host: string): { host: string; kind: HostRule['kind'] } | null {
  if (host.startsWith('[') && host.endsWith(']')) {
    const v6 = canonicalIpv6(host.slice(1, -1));
    return v6 === null ? null : { host: v6, kind: 'ipv6' };
  }
  if (host.includes(':')) {
    const v6 = canonicalIpv6(host);
    return v6 === null ? null : { host: v6, kind: 'ipv6' };
  }
  let h = host.toLowerCase();
  if (h.endsWith('.')) h = h.slice(0, -1);
  if (IPV4.test(h)) return { host: h, kind: 'ipv4' };
  const labels = h.split('.');
  if (h.length > 253 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels[labels.length - 1] ?? '')) return null;
  return { host: h, kind: 'name' };
}

function matches(r: HostRule, h: { host: string; kind: HostRule['kind'] }): boolean {
  if (r.kind !== h.kind) return false;
  return r.wildcard ? h.host.endsWith(`.${r.host}`) : h.host === r.host;
}

/** The compressed, lowercase form of an IPv6 literal (no brackets, no
 *  zone), or null. The WHATWG URL parser (a global, no import) does it. */
function canonicalIpv6(s: string): string | null {
  if (!/^[0-9a-f:.]+$/i.test(s) || !s.includes(':')) return null;
  try {
    const h = new URL(`http://[${s}]/`).hostname;
    return h.slice(1, -1);
  } catch {
    return null;
  }
}

/** "https://x.example:8080/path" → "give the host only: --allow-host x.example:8080". */
function hostOnly(given: string): string {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(given)?.[1]?.toLowerCase();
  try {
    const u = new URL(scheme ? given : `https://${given}`);
    // "http://x" means port 80, which the rule must then say.
    const port = u.port || (scheme === 'http' ? '80' : '');
    if (u.hostname !== '') return `give the host only: ${FLAG} ${u.hostname}${port && port !== String(DEFAULT_PORT) ? `:${port}` : ''}`;
  } catch {
    // The generic wording below.
  }
  return `give the host only, e.g. ${FLAG} example.com or ${FLAG} example.com:8080`;
}
