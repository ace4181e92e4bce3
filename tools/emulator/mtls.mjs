// @ts-check
/**
 * Mutual TLS as mtls.api.openai.com applies it: once a certificate is active for the
 * organization, every request needs a client certificate that verifies against the active ones.
 */
import { X509Certificate } from 'node:crypto'
import { seconds } from './store.mjs'

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2'

/**
 * Why OpenAI would refuse this client certificate, or undefined (current mutual-TLS guide): valid
 * now, an Authority Key Identifier, fit for TLS client authentication, then signed directly by an
 * active anchor or, after a no-match, through the intermediates presented in the handshake. A
 * second reader to the action's own (src/certificates/chain.ts): OpenSSL's issuer check (names, AKI/SKI, the
 * issuer's Key Usage) and signature check through node:crypto, @peculiar/x509 for extensions.
 * @param {typeof import('@peculiar/x509')} lib
 * @param {X509Certificate} leaf
 * @param {X509Certificate[]} presented
 * @param {X509Certificate[]} anchors
 * @param {number} nowSeconds
 */
export function clientCertificateProblem(lib, leaf, presented, anchors, nowSeconds) {
  const valid = (/** @type {X509Certificate} */ x) =>
    seconds(x.validFrom) <= nowSeconds && nowSeconds <= seconds(x.validTo)
  if (!valid(leaf)) return 'The client certificate is expired or not yet valid.'
  const parsed = new lib.X509Certificate(new Uint8Array(leaf.raw))
  if (!parsed.getExtension(lib.AuthorityKeyIdentifierExtension))
    return 'The client certificate has no Authority Key Identifier.'
  const eku = parsed.getExtension(lib.ExtendedKeyUsageExtension)
  if (eku && !eku.usages.map(String).includes(CLIENT_AUTH))
    return 'The client certificate is not for TLS client authentication (Extended Key Usage).'
  const ku = parsed.getExtension(lib.KeyUsagesExtension)
  if (ku && !(ku.usages & lib.KeyUsageFlags.digitalSignature))
    return 'The client certificate is not for TLS client authentication (Key Usage).'
  /** @param {X509Certificate} ca the most intermediates it allows below it (basicConstraints) */
  const pathLength = (ca) =>
    new lib.X509Certificate(new Uint8Array(ca.raw)).getExtension(lib.BasicConstraintsExtension)?.pathLength ?? Infinity
  /** @param {X509Certificate} child @param {X509Certificate} parent @param {number} below */
  const issued = (child, parent, below) =>
    child.checkIssued(parent) &&
    parent.ca &&
    valid(parent) &&
    below <= pathLength(parent) &&
    child.verify(parent.publicKey)
  /** @param {X509Certificate} cert @param {Set<X509Certificate>} used @returns {boolean} */
  const reaches = (cert, used) =>
    anchors.some((a) => issued(cert, a, used.size)) ||
    (used.size < 8 &&
      presented.some((i) => !used.has(i) && issued(cert, i, used.size) && reaches(i, new Set([...used, i]))))
  return reaches(leaf, new Set()) ? undefined : 'The client certificate does not chain to an active certificate.'
}

/**
 * OpenAI's answer to a request on this connection once a certificate is active for the
 * organization (Admin API calls are organization requests); before that, none is needed.
 * @param {typeof import('@peculiar/x509') | undefined} lib  undefined when not serving mutual TLS
 * @param {import('./store.mjs').StoredCertificate[]} certificates
 * @param {() => number} now  unix seconds
 * @param {import('node:tls').TLSSocket} socket
 */
export function mtlsRefusal(lib, certificates, now, socket) {
  const active = certificates.filter((c) => c.active)
  if (!lib || active.length === 0) return undefined
  // getPeerCertificate(true) first: after getPeerX509Certificate(), Node 20 loses the chain.
  const peer = socket.getPeerCertificate(true)
  const leaf = peer?.raw ? new X509Certificate(peer.raw) : undefined
  if (!leaf) {
    return {
      code: 'certificate_required',
      message: 'This organization requires mutual TLS: send a client certificate that chains to an active certificate.'
    }
  }
  /** @type {X509Certificate[]} */
  const presented = []
  let link = peer
  while (link?.issuerCertificate && link.issuerCertificate !== link && presented.length < 10) {
    link = link.issuerCertificate
    presented.push(new X509Certificate(link.raw))
  }
  const anchors = active.map((c) => new X509Certificate(c.content))
  const problem = clientCertificateProblem(lib, leaf, presented, anchors, now())
  return problem && { code: 'certificate_verification_failed', message: problem }
}
