/** The agent protocol's framing and what a sign request is recognised as. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Framer, MSG, ProtocolError, describeKey, fingerprint, frame, parseExtension, parseIdentities, parseSessionBind, parseSignRequest, recognise, sshString } from '../../../src/sshagent/protocol.js';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
};
const ed25519 = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, 7))]);

describe('Framer', () => {
  it('a message of 256 KiB trickled a byte at a time is joined once, not copied again per byte (11.6 s before, on this machine)', () => {
    const body = Buffer.alloc(256 * 1024 - 2, 1);
    const wire = frame(99, body);
    const f = new Framer();
    const t = performance.now();
    const got = [];
    for (let i = 0; i < wire.length; i++) got.push(...f.push(wire.subarray(i, i + 1)));
    expect(performance.now() - t).toBeLessThan(2000);
    expect(got.length).toBe(1);
    expect(got[0]!.body.equals(body)).toBe(true);
  });

  it('reads a length split over chunks of 1 and 3 bytes', () => {
    const wire = frame(MSG.SIGN_REQUEST, Buffer.from('abcdef'));
    const f = new Framer();
    expect(f.push(wire.subarray(0, 1))).toEqual([]);
    expect(f.push(wire.subarray(1, 4))).toEqual([]);
    expect(f.push(wire.subarray(4)).map((m) => m.body.toString())).toEqual(['abcdef']);
    expect(() => new Framer().push(Buffer.from([0, 0]))).not.toThrow();
    const g = new Framer();
    g.push(Buffer.from([0, 0x10]));
    expect(() => g.push(Buffer.from([0, 0]))).toThrow(ProtocolError);
  });

  it('takes a stream in any split and gives whole messages, in order, many per chunk', () => {
    const wire = Buffer.concat([frame(MSG.REQUEST_IDENTITIES), frame(MSG.SIGN_REQUEST, Buffer.from('abc')), frame(MSG.LOCK, sshString('pw'))]);
    for (const size of [1, 2, 3, 5, 7, wire.length]) {
      const f = new Framer();
      const got = [];
      for (let i = 0; i < wire.length; i += size) got.push(...f.push(wire.subarray(i, i + size)));
      expect(got.map((m) => [m.type, m.body.toString('latin1')])).toEqual([
        [MSG.REQUEST_IDENTITIES, ''],
        [MSG.SIGN_REQUEST, 'abc'],
        [MSG.LOCK, '\0\0\0\x02pw'],
      ]);
      expect(f.pending).toBe(0);
    }
  });
  it('holds a partial message until the rest comes', () => {
    const f = new Framer();
    expect(f.push(Buffer.concat([u32(10), Buffer.from([13, 1, 2])]))).toEqual([]);
    expect(f.pending).toBe(7);
    expect(f.push(Buffer.alloc(7, 9))).toHaveLength(1);
  });
  it('refuses a length of 0 or over the limit, before reading the contents', () => {
    expect(() => new Framer().push(u32(0))).toThrow(ProtocolError);
    expect(() => new Framer(1024).push(u32(1025))).toThrow(/1025 bytes/);
    expect(() => new Framer().push(u32(0xffffffff))).toThrow(ProtocolError);
    expect(new Framer(1024).push(Buffer.concat([u32(1024), Buffer.alloc(1024)]))).toHaveLength(1);
  });
});

describe('parsers', () => {
  it('read identities, sign requests, extensions and session-bind, and never past the end', () => {
    const ids = Buffer.concat([u32(2), sshString(ed25519), sshString('me@host'), sshString(Buffer.from('x')), sshString('')]);
    expect(parseIdentities(ids).map((i) => i.comment)).toEqual(['me@host', '']);
    expect(() => parseIdentities(Buffer.concat([u32(3), sshString(ed25519), sshString('c')]))).toThrow(ProtocolError);
    expect(() => parseIdentities(u32(1_000_000))).toThrow(ProtocolError);
    const req = parseSignRequest(Buffer.concat([sshString(ed25519), sshString('data'), u32(4)]));
    expect([req.blob.equals(ed25519), req.data.toString(), req.flags]).toEqual([true, 'data', 4]);
    expect(() => parseSignRequest(Buffer.concat([sshString(ed25519), u32(100), Buffer.from('short')]))).toThrow(ProtocolError);
    expect(() => parseSignRequest(Buffer.concat([sshString(ed25519), sshString('data')]))).toThrow(ProtocolError);
    const ext = parseExtension(Buffer.concat([sshString('session-bind@openssh.com'), sshString(ed25519), sshString(Buffer.alloc(32, 1)), sshString('sig'), Buffer.from([0])]));
    expect(ext.name).toBe('session-bind@openssh.com');
    const bind = parseSessionBind(ext.rest);
    expect([bind.hostKey.equals(ed25519), bind.sessionId.length, bind.forwarding]).toEqual([true, 32, false]);
  });
  it('fingerprints a key as ssh-keygen -l does', () => {
    expect(fingerprint(ed25519)).toBe('SHA256:' + createHash('sha256').update(ed25519).digest('base64').replace(/=+$/, ''));
    expect(describeKey(ed25519, 'me@host\x1b[2J')).toMatch(/^ED25519 SHA256:\S+ me@host\\x1b\[2J$/);
  });
});

describe('recognise()', () => {
  const sid = Buffer.alloc(32, 5);
  const login = (method: string, hostKey?: Buffer) =>
    Buffer.concat([sshString(sid), Buffer.from([50]), sshString('git'), sshString('ssh-connection'), sshString(method), Buffer.from([1]), sshString('ssh-ed25519'), sshString(ed25519), ...(hostKey ? [sshString(hostKey)] : [])]);
  it('an SSH login: user, service, and the host key when publickey-hostbound names it', () => {
    const host = Buffer.concat([sshString('ssh-ed25519'), sshString(Buffer.alloc(32, 9))]);
    const a = recognise(login('publickey-hostbound-v00@openssh.com', host));
    expect(a).toMatchObject({ kind: 'login', user: 'git', service: 'ssh-connection' });
    expect(a.kind === 'login' && a.hostKey?.equals(host)).toBe(true);
    const b = recognise(login('publickey'));
    expect(b).toMatchObject({ kind: 'login', hostKey: null });
    expect(b.kind === 'login' && b.sessionId.equals(sid)).toBe(true);
  });
  it('ssh-keygen -Y sign: the namespace and the message hash', () => {
    const h = Buffer.alloc(64, 3);
    const data = Buffer.concat([Buffer.from('SSHSIG'), sshString('git'), sshString(''), sshString('sha512'), sshString(h)]);
    expect(recognise(data)).toEqual({ kind: 'sshsig', namespace: 'git', hashAlg: 'sha512', hash: h });
  });
  it('anything else, or a shape with bytes left over, by its SHA-256', () => {
    for (const data of [Buffer.from('hello'), Buffer.concat([login('publickey'), Buffer.from('x')]), Buffer.concat([Buffer.from('SSHSIG'), sshString('git')]), login('password')]) {
      expect(recognise(data)).toEqual({ kind: 'other', sha256: 'SHA256:' + createHash('sha256').update(data).digest('base64').replace(/=+$/, ''), length: data.length });
    }
  });
});

describe('describeKey()', () => {
  it("escapes a certificate type's control characters (the sender's key blob)", () => {
    const cert = Buffer.concat([sshString('\x1b]52;c;eA==\x07-cert-v01@openssh.com'), sshString(Buffer.alloc(8))]);
    expect(describeKey(cert, undefined)).toMatch(/^\\x1b\]52;c;eA==\\x07 certificate SHA256:/);
    expect(describeKey(cert, undefined)).not.toContain('\x1b');
  });
});
