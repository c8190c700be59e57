/**
 * The certificate authority of one --secret run: an EC P-256 key made in
 * the supervisor's memory, never written anywhere, gone when the run ends;
 * its certificate (public) goes to the command's TMPDIR. Leaf certificates
 * for the secret's hosts are signed on first use and kept for the run.
 * Certificates are made by @peculiar/x509 (loaded here, in the egress
 * bundle only, so a run without --secret never pays for it).
 */
import * as net from 'node:net';
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

let x509: typeof X509 | undefined;
function loadX509(): typeof X509 {
  if (x509) return x509;
  // @peculiar/x509 reads class metadata through reflect-metadata, which must
  // be in place before it loads.
  require('reflect-metadata');
  x509 = require('@peculiar/x509') as typeof X509;
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  return x509;
}

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface Leaf {
  cert: string;
  key: string;
}

export interface RunCa {
  /** The CA certificate, PEM. */
  certPem: string;
  /** A leaf for `host` (a name or an IP literal), PEM cert and key. */
  leaf(host: string): Promise<Leaf>;
}

/** A CA for this run: valid from a day ago (clock skew) for a week. */
export async function makeCa(now = new Date()): Promise<RunCa> {
  const x = loadX509();
  const subtle = webcrypto.subtle;
  const caKeys = (await subtle.generateKey(EC, false, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date(now.getTime() - DAY);
  const notAfter = new Date(now.getTime() + 7 * DAY);
  const ca = await x.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=jail run CA ${process.pid} ${now.toISOString()}, O=jail (made for one run; its key never left memory)`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: SIGN,
    extensions: [
      new x.BasicConstraintsExtension(true, 0, true),
      new x.KeyUsagesExtension(x.KeyUsageFlags.keyCertSign | x.KeyUsageFlags.cRLSign, true),
      await x.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  // One key for every leaf of the run: they all live and die with the CA.
  const leafKeys = (await subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const leafKeyPem = pem('PRIVATE KEY', await subtle.exportKey('pkcs8', leafKeys.privateKey));
  const caId = await x.AuthorityKeyIdentifierExtension.create(caKeys.publicKey);
  const leaves = new Map<string, Promise<Leaf>>();

  const make = async (host: string): Promise<Leaf> => {
    const san = net.isIP(host) ? { type: 'ip' as const, value: host } : { type: 'dns' as const, value: host };
    const cert = await x.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${host.replace(/[,+="\\<>;#]/g, '')}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      publicKey: leafKeys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGN,
      extensions: [
        new x.BasicConstraintsExtension(false, undefined, true),
        new x.KeyUsagesExtension(x.KeyUsageFlags.digitalSignature, true),
        new x.ExtendedKeyUsageExtension([x.ExtendedKeyUsage.serverAuth]),
        new x.SubjectAlternativeNameExtension([san]),
        caId,
      ],
    });
    return { cert: cert.toString('pem'), key: leafKeyPem };
  };

  return {
    certPem: ca.toString('pem'),
    leaf(host) {
      let l = leaves.get(host);
      if (!l) {
        l = make(host);
        leaves.set(host, l);
      }
      return l;
    },
  };
}

/** A positive 16-byte serial number, hex. */
function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f;
  return Buffer.from(b).toString('hex');
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith('\n') ? '' : '\n'}-----END ${label}-----\n`;
}
