/**
 * SOCKS5 (RFC 1928), only what the proxy needs: no authentication, the
 * CONNECT command, domain, IPv4 and IPv6 targets. curl's socks5h://, git's
 * core.gitProxy helpers and ssh's ProxyCommand tools speak it. Pure: bytes
 * in, a parse out; server.ts drives the socket.
 */

export const VERSION = 0x05;
const NO_AUTH = 0x00;
const NO_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;

/** Reply codes. */
export const REP = {
  ok: 0x00,
  failure: 0x01,
  notAllowed: 0x02,
  hostUnreachable: 0x04,
  refused: 0x05,
  ttlExpired: 0x06,
  commandNotSupported: 0x07,
  addressNotSupported: 0x08,
} as const;

/** The greeting [5, n, methods…] once complete: its length and the answer
 *  to send (no authentication, or "no acceptable method"). */
export function parseGreeting(buf: Buffer): { length: number; reply: Buffer } | null {
  if (buf.length < 2) return null;
  const length = 2 + (buf[1] ?? 0);
  if (buf.length < length) return null;
  const ok = buf.subarray(2, length).includes(NO_AUTH);
  return { length, reply: Buffer.from([VERSION, ok ? NO_AUTH : NO_ACCEPTABLE]) };
}

export type SocksRequest = { length: number; host: string; port: number } | { length: number; error: number };

/** The request [5, cmd, 0, atyp, addr…, port] once complete. */
export function parseRequest(buf: Buffer): SocksRequest | null {
  if (buf.length < 5) return null;
  if (buf[0] !== VERSION) return { length: buf.length, error: REP.failure };
  const atyp = buf[3];
  const addrLength = atyp === 0x01 ? 4 : atyp === 0x04 ? 16 : atyp === 0x03 ? 1 + (buf[4] ?? 0) : -1;
  if (addrLength < 0) return { length: buf.length, error: REP.addressNotSupported };
  const length = 4 + addrLength + 2;
  if (buf.length < length) return null;
  if (buf[1] !== CMD_CONNECT) return { length, error: REP.commandNotSupported };
  const addr = buf.subarray(4, 4 + addrLength);
  const host =
    atyp === 0x01
      ? [...addr].join('.')
      : atyp === 0x04
        ? Array.from({ length: 8 }, (_, i) => addr.readUInt16BE(i * 2).toString(16)).join(':')
        : addr.subarray(1).toString('latin1');
  return { length, host, port: buf.readUInt16BE(4 + addrLength) };
}

/** A reply; the bound address is 0.0.0.0:0, which clients ignore. */
export function reply(rep: number): Buffer {
  return Buffer.from([VERSION, rep, 0x00, 0x01, 0, 0, 0, 0, 0, 0]);
}
