/**
 * The SSH agent protocol (draft-miller-ssh-agent), as much of it as jail's
 * confirming agent needs: framing (uint32 length, then a type byte and the
 * contents), the messages it forwards, and a description of what a sign
 * request signs. Pure: buffers in, values out; every length is checked
 * against what is left, and a message is at most MAX_MESSAGE bytes.
 */
import { createHash } from 'node:crypto';
import { printable } from '../text.js';

/** OpenSSH's own limit (AGENT_MAX_LEN). */
export const MAX_MESSAGE = 256 * 1024;

export const MSG = {
  FAILURE: 5,
  SUCCESS: 6,
  REQUEST_IDENTITIES: 11,
  IDENTITIES_ANSWER: 12,
  SIGN_REQUEST: 13,
  SIGN_RESPONSE: 14,
  ADD_IDENTITY: 17,
  REMOVE_IDENTITY: 18,
  REMOVE_ALL_IDENTITIES: 19,
  ADD_SMARTCARD_KEY: 20,
  REMOVE_SMARTCARD_KEY: 21,
  LOCK: 22,
  UNLOCK: 23,
  ADD_ID_CONSTRAINED: 25,
  ADD_SMARTCARD_KEY_CONSTRAINED: 26,
  EXTENSION: 27,
  EXTENSION_FAILURE: 28,
} as const;

/** SSH_MSG_USERAUTH_REQUEST (RFC 4252), the start of what a login signs
 *  after the session identifier. */
const USERAUTH_REQUEST = 50;

export class ProtocolError extends Error {}

/** A message: its type and its contents (after the type byte). */
export interface Message {
  type: number;
  body: Buffer;
}

/** One message as it goes on the wire. */
export function frame(type: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}

export const FAILURE = (): Buffer => frame(MSG.FAILURE);

/**
 * Splits a byte stream into messages: bytes in as they arrive (any
 * split), whole messages out, in order. A length of 0 or over `max` is a
 * ProtocolError (the connection is then closed).
 */
export class Framer {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly max = MAX_MESSAGE) {}

  push(chunk: Buffer): Message[] {
    this.chunks.push(chunk);
    this.size += chunk.length;
    const out: Message[] = [];
    for (;;) {
      if (this.size < 4) break;
      // Joined only once the message is whole: a message trickled in a
      // byte at a time would otherwise be copied again for every byte
      // (256 KiB that way kept the supervisor busy for seconds).
      const len = this.length();
      if (len === 0 || len > this.max) throw new ProtocolError(`a message of ${len} bytes (at most ${this.max})`);
      if (this.size < 4 + len) break;
      const buf = this.flat();
      out.push({ type: buf[4]!, body: Buffer.from(buf.subarray(5, 4 + len)) });
      const rest = buf.subarray(4 + len);
      this.chunks = rest.length ? [rest] : [];
      this.size = rest.length;
    }
    return out;
  }

  /** The length field of the message at the front (4 bytes are held). */
  private length(): number {
    const first = this.chunks[0]!;
    if (first.length >= 4) return first.readUInt32BE(0);
    const head = Buffer.alloc(4);
    let n = 0;
    for (const c of this.chunks) {
      n += c.copy(head, n, 0, Math.min(c.length, 4 - n));
      if (n === 4) break;
    }
    return head.readUInt32BE(0);
  }

  /** Bytes held that make no whole message yet. */
  get pending(): number {
    return this.size;
  }

  private flat(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }
}

/** Reads SSH wire types from a buffer, refusing to read past its end. */
export class Reader {
  private off = 0;

  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf[this.off++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  string(): Buffer {
    const len = this.u32();
    this.need(len);
    const v = this.buf.subarray(this.off, this.off + len);
    this.off += len;
    return v;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return v;
  }

  get left(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (n > this.buf.length - this.off) throw new ProtocolError(`${n} bytes wanted, ${this.buf.length - this.off} left`);
  }
}

export function sshString(b: Buffer | string): Buffer {
  const v = typeof b === 'string' ? Buffer.from(b) : b;
  const len = Buffer.alloc(4);
  len.writeUInt32BE(v.length, 0);
  return Buffer.concat([len, v]);
}

export interface Identity {
  blob: Buffer;
  comment: string;
}

/** SSH_AGENT_IDENTITIES_ANSWER's contents. */
export function parseIdentities(body: Buffer): Identity[] {
  const r = new Reader(body);
  const n = r.u32();
  if (n > 4096) throw new ProtocolError(`${n} keys`);
  const out: Identity[] = [];
  for (let i = 0; i < n; i++) out.push({ blob: Buffer.from(r.string()), comment: r.string().toString('utf8') });
  return out;
}

export interface SignRequest {
  blob: Buffer;
  data: Buffer;
  flags: number;
}

export function parseSignRequest(body: Buffer): SignRequest {
  const r = new Reader(body);
  const blob = r.string();
  const data = r.string();
  const flags = r.u32();
  return { blob, data, flags };
}

/** An extension request's name and the rest of its contents. */
export function parseExtension(body: Buffer): { name: string; rest: Buffer } {
  const r = new Reader(body);
  const name = r.string().toString('latin1');
  return { name, rest: r.bytes(r.left) };
}

export const SESSION_BIND = 'session-bind@openssh.com';

/** session-bind@openssh.com: the server's host key and the session's
 *  identifier, which the real agent checks against the host's signature. */
export function parseSessionBind(rest: Buffer): { hostKey: Buffer; sessionId: Buffer; forwarding: boolean } {
  const r = new Reader(rest);
  const hostKey = Buffer.from(r.string());
  const sessionId = Buffer.from(r.string());
  r.string(); // the host's signature of the session identifier
  const forwarding = r.u8() !== 0;
  return { hostKey, sessionId, forwarding };
}

/** A key blob's type (`ssh-ed25519`), or '?' when it has none readable. */
export function keyType(blob: Buffer): string {
  try {
    return new Reader(blob).string().toString('latin1');
  } catch {
    return '?';
  }
}

/** `SHA256:…` as ssh-keygen -l prints it (base64, no padding). */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** ED25519, RSA, ECDSA, … as ssh-keygen -l names them. */
export function keyKind(blob: Buffer): string {
  const t = keyType(blob);
  if (t === 'ssh-ed25519') return 'ED25519';
  if (t === 'ssh-rsa') return 'RSA';
  if (t.startsWith('ecdsa-sha2-')) return 'ECDSA';
  if (t.startsWith('sk-ssh-ed25519')) return 'ED25519-SK';
  if (t.startsWith('sk-ecdsa-')) return 'ECDSA-SK';
  // The type is the sender's (a key blob in a sign request, a host key in
  // a login's data): escaped here, whatever the branch.
  if (t.includes('-cert-v01@openssh.com')) return `${printable(t.replace('-cert-v01@openssh.com', ''))} certificate`;
  return printable(t);
}

/** A key in one line: kind, fingerprint, comment. */
export function describeKey(blob: Buffer, comment: string | undefined): string {
  return `${keyKind(blob)} ${fingerprint(blob)}${comment ? ` ${printable(comment)}` : ''}`;
}

/**
 * What a sign request signs, where it can be recognised:
 * - login: an SSH user authentication (RFC 4252 §7): the session's
 *   identifier, then SSH_MSG_USERAUTH_REQUEST with the user, the service and
 *   (publickey-hostbound) the server's host key;
 * - sshsig: `ssh-keygen -Y sign` (OpenSSH's PROTOCOL.sshsig): the magic
 *   "SSHSIG", the namespace (git signs commits and tags in "git"), the hash
 *   algorithm and the message's hash;
 * - other: anything else, shown by its SHA-256.
 */
export type Signed =
  | { kind: 'login'; user: string; service: string; method: string; sessionId: Buffer; hostKey: Buffer | null }
  | { kind: 'sshsig'; namespace: string; hashAlg: string; hash: Buffer }
  | { kind: 'other'; sha256: string; length: number };

export function recognise(data: Buffer): Signed {
  if (data.length >= 6 && data.subarray(0, 6).toString('latin1') === 'SSHSIG') {
    try {
      const r = new Reader(data.subarray(6));
      const namespace = r.string().toString('utf8');
      r.string(); // reserved
      const hashAlg = r.string().toString('latin1');
      const hash = Buffer.from(r.string());
      if (r.left === 0) return { kind: 'sshsig', namespace, hashAlg, hash };
    } catch {
      // not what it claims: shown by its hash
    }
  }
  try {
    const r = new Reader(data);
    const sessionId = Buffer.from(r.string());
    if (sessionId.length >= 16 && sessionId.length <= 64 && r.u8() === USERAUTH_REQUEST) {
      const user = r.string().toString('utf8');
      const service = r.string().toString('latin1');
      const method = r.string().toString('latin1');
      if (method === 'publickey' || method === 'publickey-hostbound-v00@openssh.com') {
        if (r.u8() === 1) {
          r.string(); // the signature's algorithm
          r.string(); // the key
          const hostKey = method === 'publickey' ? null : Buffer.from(r.string());
          if (r.left === 0) return { kind: 'login', user, service, method, sessionId, hostKey };
        }
      }
    }
  } catch {
    // not a login
  }
  return { kind: 'other', sha256: 'SHA256:' + createHash('sha256').update(data).digest('base64').replace(/=+$/, ''), length: data.length };
}
