/**
 * The DNS server the jailed program's lookups reach inside its network
 * namespace. It never forwards a query: an allowed name gets its local
 * address from the AddressMap (the transparent listeners take it from
 * there), everything else NXDOMAIN at once, so a denied lookup fails fast
 * instead of timing out. IPv4 only: AAAA for an allowed name is an empty
 * answer, which every resolver takes as "use the A record".
 */
import * as packet from 'dns-packet';
import type { AddressMap } from './dnsmap.js';
import { matchName, type HostRule } from './rules.js';

/** Short, so a cached answer does not outlive a run by much. */
const TTL = 5;
const NXDOMAIN = 3;
const FORMERR = 1;

export interface Answer {
  /** The reply to send, or null for a packet to drop (not a query). */
  reply: Buffer | null;
  /** The name looked up. */
  name?: string;
  /** The record type asked for. */
  type?: string;
  /** The name is not allowed (reverse lookups aside: resolvers make those on their own). */
  refused?: boolean;
  /** The address answered, when one was. */
  address?: string;
}

/** The answer to one datagram. Pure but for the AddressMap. */
export function answer(msg: Buffer, rules: readonly HostRule[], map: AddressMap): Answer {
  let query: packet.DecodedPacket;
  try {
    query = packet.decode(msg);
  } catch {
    return { reply: msg.length >= 2 ? packet.encode({ type: 'response', id: msg.readUInt16BE(0), flags: packet.RECURSION_AVAILABLE | FORMERR }) : null };
  }
  if (query.type !== 'query') return { reply: null };
  const q = query.questions?.[0];
  if (query.questions?.length !== 1 || q === undefined) return { reply: encode(query, FORMERR) };
  const name = q.name;
  if (matchName(rules, name) === null) {
    return { reply: encode(query, NXDOMAIN, q), name, type: q.type, refused: !/(^|\.)arpa\.?$/i.test(name) };
  }
  if (q.type === 'A' || (q.type as string) === 'ANY') {
    const address = map.addressFor(name);
    return { reply: encode(query, 0, q, [{ type: 'A', class: 'IN', name, ttl: TTL, data: address }]), name, address };
  }
  // AAAA, HTTPS, MX… for an allowed name: the name exists, with no such record.
  return { reply: encode(query, 0, q), name };
}

function encode(query: packet.DecodedPacket, rcode: number, q?: packet.Question, answers: packet.Answer[] = []): Buffer {
  return packet.encode({
    type: 'response',
    id: query.id ?? 0,
    flags: packet.AUTHORITATIVE_ANSWER | packet.RECURSION_AVAILABLE | (query.flag_rd ? packet.RECURSION_DESIRED : 0) | rcode,
    questions: q ? [q] : [],
    answers,
  });
}
