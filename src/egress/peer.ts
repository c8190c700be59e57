/**
 * Whose a connection to the proxy is. On the host's 127.0.0.1 (the
 * fallback layer's proxy, and the namespace layer's until the command
 * runs in its own network) every local user can connect: without a check,
 * another user's process would reach the allowed hosts through jail, and
 * --secret's hosts with jail's substitution.
 *
 * A connection is served only when the socket at its other end, found by
 * its ends (sock_diag's exact lookup, which the supervisor makes), is held
 * by a process (it has an inode) and was made by the jailed command's user.
 * The check runs when the connection is accepted, before a byte of it is
 * read; the other end cannot change owner meanwhile (chown of a socket
 * needs CAP_CHOWN), and a peer gone by then (closed, reset, TIME_WAIT) is
 * refused: what cannot be traced to the jail is not served.
 *
 * Other processes of the same user are not told apart: they are not
 * confined anyway (they can read the supervisor's memory and environment,
 * the real --secret values included).
 */
import type * as net from 'node:net';

/** The owner of the TCP socket with ends `peer` (its own) and `self`: the
 *  addon's tcpOwner, passed in (this bundle loads no addon). Throws when
 *  the lookup itself fails. */
export type OwnerLookup = (peer: { address: string; port: number }, self: { address: string; port: number }) => { uid: number; inode: number } | null;

/** null: serve the connection; else why it is refused, for the summary
 *  ("from uid 65534"). */
export type Admit = (socket: net.Socket) => string | null;

/** Admit the connections whose other end `uid` made and a process holds. */
export function ownedBy(uid: number, lookup: OwnerLookup): Admit {
  return (socket) => {
    const [address, port, self, selfPort] = [socket.remoteAddress, socket.remotePort, socket.localAddress, socket.localPort];
    if (address === undefined || port === undefined || self === undefined || selfPort === undefined) return 'gone before it could be checked';
    let owner: ReturnType<OwnerLookup>;
    try {
      owner = lookup({ address: unmapped(address), port }, { address: unmapped(self), port: selfPort });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      return `not checked (${err.syscall ?? 'sock_diag'}: ${err.code ?? err.message})`;
    }
    if (owner === null) return 'gone before it could be checked';
    if (owner.inode === 0) return 'from a socket no process holds';
    return owner.uid === uid ? null : `from uid ${owner.uid}`;
  };
}

/** An IPv4 address as an IPv6 socket shows it (::ffff:127.0.0.1). */
function unmapped(a: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(a) ? a.slice(7) : a;
}
