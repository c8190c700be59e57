/** --allow-host: what is accepted and how, what is refused and with which
 *  hint, what a rule matches, and the flag named in messages. */
import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../../src/errors.js';
import { AddressMap } from '../../../src/egress/dnsmap.js';
import { allowFlag, matchHost, matchName, parseAllowHost } from '../../../src/egress/rules.js';

describe('parseAllowHost accepts', () => {
  it.each([
    ['registry.npmjs.org', { host: 'registry.npmjs.org', wildcard: false, port: 443, kind: 'name' }],
    ['Example.COM.', { host: 'example.com', wildcard: false, port: 443, kind: 'name' }],
    ['example.com:80', { host: 'example.com', wildcard: false, port: 80, kind: 'name' }],
    ['localhost:8080', { host: 'localhost', wildcard: false, port: 8080, kind: 'name' }],
    ['*.example.com', { host: 'example.com', wildcard: true, port: 443, kind: 'name' }],
    ['*.example.co.uk:8443', { host: 'example.co.uk', wildcard: true, port: 8443, kind: 'name' }],
    ['*.user.github.io', { host: 'user.github.io', wildcard: true, port: 443, kind: 'name' }],
    ['xn--bcher-kva.example', { host: 'xn--bcher-kva.example', wildcard: false, port: 443, kind: 'name' }],
    ['_acme.example.com', { host: '_acme.example.com', wildcard: false, port: 443, kind: 'name' }],
    ['192.0.2.10', { host: '192.0.2.10', wildcard: false, port: 443, kind: 'ipv4' }],
    ['10.1.2.3:5000', { host: '10.1.2.3', wildcard: false, port: 5000, kind: 'ipv4' }],
    ['[2001:DB8:0::1]', { host: '2001:db8::1', wildcard: false, port: 443, kind: 'ipv6' }],
    ['[::1]:8080', { host: '::1', wildcard: false, port: 8080, kind: 'ipv6' }],
    ['2001:db8::1', { host: '2001:db8::1', wildcard: false, port: 443, kind: 'ipv6' }],
    ['example.com:65535', { host: 'example.com', wildcard: false, port: 65535, kind: 'name' }],
  ])('%s', (given, rule) => {
    expect(parseAllowHost(given)).toEqual({ ...rule, given });
  });
});

describe('parseAllowHost refuses, saying what to write', () => {
  it.each([
    ['', /no host given/, /--allow-host registry\.npmjs\.org/],
    ['*', /wildcard must be the whole leftmost label/, /'\*\.example\.com'/],
    ['*.', /wildcard/, /\*\.example\.com/],
    ['*example.com', /wildcard/, /\*\.example\.com/],
    ['www.*.example.com', /wildcard/, /\*\.example\.com/],
    ['*.*.example.com', /wildcard/, /\*\.example\.com/],
    ['*.com', /"com" is a public suffix/, /'\*\.example\.com'/],
    ['*.co.uk', /"co\.uk" is a public suffix/, /example\.co\.uk/],
    ['*.github.io', /"github\.io" is a public suffix/, /example\.github\.io/],
    ['*.s3.amazonaws.com', /public suffix/, /./],
    ['https://x.example', /give the host only: --allow-host x\.example\./, /never a scheme or a path/],
    ['http://x.example/path', /give the host only: --allow-host x\.example:80\./, /./],
    ['https://x.example:8443/', /--allow-host x\.example:8443\./, /./],
    ['x.example/path', /give the host only: --allow-host x\.example\./, /./],
    ['example.com:0', /"0" is not a TCP port/, /1 to 65535/],
    ['example.com:65536', /not a TCP port/, /./],
    ['example.com:', /"" is not a TCP port/, /./],
    ['example.com:http', /not a TCP port/, /./],
    ['2001:db8::1:8080:', /needs brackets/, /./],
    ['fe80::1%eth0', /not an IPv6 address/, /\[2001:db8::1\]:8080/],
    ['2001:db8::zz:443', /not an IPv6 address; with a port/, /./],
    ['[2001:db8::1', /unbalanced/, /\[2001:db8::1\]/],
    ['[example.com]:443', /not an IPv6 address in the brackets/, /without brackets/],
    ['exa mple.com', /no spaces/, /one host/],
    ['bücher.example', /not an ASCII host name/, /xn--/],
    ['exa$mple.com', /not a valid host name/, /letters, digits/],
    ['-bad.example', /not a valid host name/, /./],
    ['a..b', /not a valid host name/, /./],
    ['999.1.1.1', /not a valid IPv4 address/, /0 to 255/],
    ['1.2.3', /not a valid IPv4 address/, /./],
    ['*.10.0.0.1', /not a valid IPv4/, /./],
  ])('%j', (given, message, hint) => {
    let err: unknown;
    try {
      parseAllowHost(given);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PolicyError);
    const e = err as PolicyError;
    expect(e.message).toMatch(/^--allow-host "/);
    expect(e.message).toMatch(message);
    expect(e.hint).toMatch(hint);
  });
});

describe('matchHost', () => {
  const rules = ['registry.npmjs.org', '*.example.com', 'plain.test:80', '192.0.2.10:8080', '[2001:db8::1]', 'localhost:3000'].map(parseAllowHost);
  it.each([
    ['registry.npmjs.org', 443, 'registry.npmjs.org'],
    ['REGISTRY.npmjs.org.', 443, 'registry.npmjs.org'],
    ['registry.npmjs.org', 80, null],
    ['evil.npmjs.org', 443, null],
    ['a.example.com', 443, '*.example.com'],
    ['a.b.c.example.com', 443, '*.example.com'],
    ['example.com', 443, null],
    ['badexample.com', 443, null],
    ['plain.test', 80, 'plain.test:80'],
    ['plain.test', 443, null],
    ['192.0.2.10', 8080, '192.0.2.10:8080'],
    ['192.0.2.10', 443, null],
    ['[2001:db8::1]', 443, '[2001:db8::1]'],
    ['2001:db8:0:0::1', 443, '[2001:db8::1]'],
    ['[::1]', 443, null],
    ['localhost', 3000, 'localhost:3000'],
    ['not a host', 443, null],
    ['', 443, null],
  ])('%s:%i', (host, port, given) => {
    expect(matchHost(rules, host, port)?.given ?? null).toBe(given);
  });
  it('names match name rules only; matchName ignores the port', () => {
    expect(matchHost(rules, '127.0.0.1', 3000)).toBeNull();
    expect(matchHost([parseAllowHost('192.0.2.10')], 'host-at-192.0.2.10.example', 443)).toBeNull();
    expect(matchName(rules, 'plain.test.')?.given).toBe('plain.test:80');
    expect(matchName(rules, 'x.example.com')?.given).toBe('*.example.com');
    expect(matchName(rules, '192.0.2.10')).toBeNull();
    expect(matchName(rules, 'evil.test')).toBeNull();
  });
});

describe('allowFlag', () => {
  it.each([
    ['evil.example', 443, '--allow-host evil.example'],
    ['Evil.Example.', 8080, '--allow-host evil.example:8080'],
    ['::1', 8080, '--allow-host [::1]:8080'],
    ['[::1]', 443, '--allow-host [::1]'],
    ['192.0.2.1', 80, '--allow-host 192.0.2.1:80'],
  ])('%s:%i', (host, port, flag) => {
    expect(allowFlag(host, port)).toBe(flag);
    // The flag it names is one parseAllowHost takes, and it allows the host.
    expect(matchHost([parseAllowHost(flag.slice('--allow-host '.length))], host, port)).not.toBeNull();
  });
});

describe('AddressMap', () => {
  it('hands out 127.100.x.y on first use, stable, never 127.0.0.1, and maps back', () => {
    const m = new AddressMap();
    expect(m.addressFor('a.example')).toBe('127.100.0.1');
    expect(m.addressFor('b.example')).toBe('127.100.0.2');
    expect(m.addressFor('A.example.')).toBe('127.100.0.1');
    expect(m.nameFor('127.100.0.2')).toBe('b.example');
    expect(m.nameFor('::ffff:127.100.0.1')).toBe('a.example');
    expect(m.nameFor('127.0.0.1')).toBeUndefined();
    for (let i = 0; i < 600; i++) {
      const a = m.addressFor(`n${i}.example`);
      expect(a).toMatch(/^127\.100\.\d+\.\d+$/);
      expect(a).not.toMatch(/\.(0|255)$/);
    }
  });
});
