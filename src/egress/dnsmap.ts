/**
 * Allowed names ↔ local addresses, for programs that ignore proxy
 * variables (Node's fetch, Go, Rust). Inside the private network namespace
 * the jail's DNS server answers an allowed name with an address of
 * 127.100.0.0/16; the program connects there, to a transparent listener,
 * which maps the address it was reached at back to the name. Pure.
 *
 * Addresses are handed out on first query and kept for the run, so a
 * program that caches an answer still reaches the same name. 127.0.0.1 is
 * never among them: it is the namespace's own loopback.
 */
import { InternalError } from '../errors.js';

/** 127.100.0.0/16: .0.1 up to .255.254 (no .0 or .255 in the last octet,
 *  which some resolvers treat as network or broadcast addresses). */
const PREFIX = '127.100';
const FIRST = 1;
const LAST = 0xfffe;

export class AddressMap {
  private readonly byName = new Map<string, string>();
  private readonly byAddress = new Map<string, string>();
  private next = FIRST;

  /** The address for `name` (lowercase, no trailing dot), assigned on first use. */
  addressFor(name: string): string {
    const key = canonical(name);
    let addr = this.byName.get(key);
    if (addr === undefined) {
      while ((this.next & 0xff) === 0 || (this.next & 0xff) === 0xff) this.next++;
      // 65 000 names in one run: not a program anyone jails; stop rather than reuse.
      if (this.next > LAST) throw new InternalError('egress: the 127.100.0.0/16 name addresses are used up.');
      addr = `${PREFIX}.${this.next >> 8}.${this.next & 0xff}`;
      this.next++;
      this.byName.set(key, addr);
      this.byAddress.set(addr, key);
    }
    return addr;
  }

  /** The name `addr` was handed out for; `::ffff:` mapped forms too. */
  nameFor(addr: string): string | undefined {
    return this.byAddress.get(addr.replace(/^::ffff:/i, ''));
  }
}

function canonical(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}
