// @ts-check
// Test and demo certificates, generated on the spot (ECDSA P-256, so thousands take seconds).
import 'reflect-metadata'
import { webcrypto } from 'node:crypto'
import * as x509 from '@peculiar/x509'

x509.cryptoProvider.set(/** @type {Crypto} */ (/** @type {unknown} */ (webcrypto)))

const DAY = 24 * 60 * 60 * 1000
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }

/**
 * @typedef {object} CaOptions
 * @property {string} [cn]            subject common name
 * @property {Date} [notBefore]       default: a day ago (whole seconds)
 * @property {Date} [notAfter]        default: a year after notBefore
 * @property {boolean | 'leaf'} [ca]  basicConstraints CA (default true; false omits the extension; 'leaf' has it, with cA FALSE)
 * @property {boolean} [ski]          Subject Key Identifier (default true)
 * @property {boolean} [aki]          Authority Key Identifier in keyIdentifier form (default true)
 * @property {number | null} [keyUsage] Key Usage flags; null omits the extension (default keyCertSign | cRLSign)
 * @property {string} [padding]       extra bytes in an extension, to make a large certificate
 */

/**
 * @typedef {object} GeneratedCertificate
 * @property {string} pem
 * @property {Uint8Array} der
 * @property {string} fingerprint  lowercase hex SHA-256 of the DER
 * @property {Date} notBefore
 * @property {Date} notAfter
 * @property {CryptoKeyPair} keys
 */

/** @param {Date} date */
const wholeSeconds = (date) => new Date(Math.floor(date.getTime() / 1000) * 1000)

let serial = 1

/** @type {Map<string, GeneratedCertificate>} */
const madeCas = new Map()

/**
 * A self-signed CA that OpenAI would accept, unless the options break one of its rules.
 * @param {CaOptions} [options]
 * @returns {Promise<GeneratedCertificate>}
 */
export async function makeCa(options = {}) {
  const keys = /** @type {CryptoKeyPair} */ (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']))
  const notBefore = wholeSeconds(options.notBefore ?? new Date(Date.now() - DAY))
  const notAfter = wholeSeconds(options.notAfter ?? new Date(notBefore.getTime() + 365 * DAY))
  const keyUsage =
    options.keyUsage === undefined ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign : options.keyUsage
  /** @type {x509.Extension[]} */
  const extensions = []
  if (options.ca !== false) extensions.push(new x509.BasicConstraintsExtension(options.ca !== 'leaf', undefined, true))
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, true))
  if (options.ski !== false) extensions.push(await x509.SubjectKeyIdentifierExtension.create(keys.publicKey))
  if (options.aki !== false) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey))
  if (options.padding) {
    const value = new TextEncoder().encode(options.padding)
    // An OCTET STRING in a private extension: any size, no meaning.
    const der = new Uint8Array([
      0x04,
      0x83,
      (value.length >> 16) & 0xff,
      (value.length >> 8) & 0xff,
      value.length & 0xff,
      ...value
    ])
    extensions.push(new x509.Extension('1.3.6.1.4.1.55555.1', false, der))
  }
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: (serial++).toString(16).padStart(2, '0') + Date.now().toString(16),
    name: `CN=${options.cn ?? 'Test CA'}, O=openai-certificates-action tests`,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: ALGORITHM,
    extensions
  })
  const der = new Uint8Array(cert.rawData)
  const digest = await webcrypto.subtle.digest('SHA-256', der)
  const made = {
    pem: cert.toString('pem') + '\n',
    der,
    fingerprint: Buffer.from(digest).toString('hex'),
    notBefore,
    notAfter,
    keys
  }
  madeCas.set(made.pem, made)
  return made
}

/**
 * The CA `makeCa` made with this PEM (with its keys), so that a test can issue from a CA it only
 * has as a file's content.
 * @param {string} pem
 */
export const madeCa = (pem) => madeCas.get(pem)

/**
 * @typedef {object} LeafOptions
 * @property {string} cn
 * @property {boolean} [server]            a TLS server certificate for 127.0.0.1 (serverAuth)
 * @property {string} [dns]                a host name the server certificate is also valid for (a name only a test proxy resolves)
 * @property {boolean} [aki]               Authority Key Identifier (default true)
 * @property {'client' | 'server' | null} [eku] Extended Key Usage (default: client, or server for `server`); null omits it
 * @property {number | null} [keyUsage]    Key Usage flags (default digitalSignature); null omits it
 * @property {Date} [notBefore]            default: a day ago
 * @property {Date} [notAfter]             default: 30 days after notBefore
 * @property {CryptoKeyPair} [signWith]    sign with these keys instead of the issuer's (a bad signature)
 */

/**
 * A certificate signed by `issuer`: a TLS server certificate for 127.0.0.1, or a client
 * certificate. With its PKCS#8 private key, ready for node:https / tls options.
 * @param {GeneratedCertificate} issuer
 * @param {LeafOptions} options
 */
export async function makeLeaf(issuer, options) {
  const keys = /** @type {CryptoKeyPair} */ (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']))
  const issuerCert = new x509.X509Certificate(issuer.pem)
  const notBefore = wholeSeconds(options.notBefore ?? new Date(Date.now() - DAY))
  const eku = options.eku === undefined ? (options.server ? 'server' : 'client') : options.eku
  const keyUsage = options.keyUsage === undefined ? x509.KeyUsageFlags.digitalSignature : options.keyUsage
  /** @type {x509.Extension[]} */
  const extensions = [new x509.BasicConstraintsExtension(false, undefined, true)]
  if (keyUsage !== null) extensions.push(new x509.KeyUsagesExtension(keyUsage, true))
  if (eku !== null)
    extensions.push(
      new x509.ExtendedKeyUsageExtension([
        eku === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth
      ])
    )
  if (options.aki !== false) extensions.push(await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey))
  if (options.server)
    extensions.push(
      new x509.SubjectAlternativeNameExtension([
        { type: 'ip', value: '127.0.0.1' },
        ...(options.dns ? [{ type: /** @type {const} */ ('dns'), value: options.dns }] : [])
      ])
    )
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0') + Date.now().toString(16),
    subject: `CN=${options.cn}`,
    issuer: issuerCert.subject,
    notBefore,
    notAfter: wholeSeconds(options.notAfter ?? new Date(notBefore.getTime() + 30 * DAY)),
    publicKey: keys.publicKey,
    signingKey: (options.signWith ?? issuer.keys).privateKey,
    signingAlgorithm: ALGORITHM,
    extensions
  })
  return { pem: cert.toString('pem') + '\n', key: await privateKeyPem(keys) }
}

/**
 * An intermediate CA signed by `issuer`, that can itself issue leaves (`makeLeaf`) and CAs.
 * @param {GeneratedCertificate} issuer
 * @param {{ cn: string, notBefore?: Date, notAfter?: Date, ca?: boolean, pathLength?: number }} options
 * @returns {Promise<GeneratedCertificate>}
 */
export async function makeIntermediate(issuer, options) {
  const keys = /** @type {CryptoKeyPair} */ (await webcrypto.subtle.generateKey(ALGORITHM, true, ['sign', 'verify']))
  const issuerCert = new x509.X509Certificate(issuer.pem)
  const notBefore = wholeSeconds(options.notBefore ?? new Date(Date.now() - DAY))
  const notAfter = wholeSeconds(options.notAfter ?? new Date(notBefore.getTime() + 180 * DAY))
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: (serial++).toString(16).padStart(2, '0') + Date.now().toString(16),
    subject: `CN=${options.cn}, O=openai-certificates-action tests`,
    issuer: issuerCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(options.ca !== false, options.pathLength, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.keys.publicKey)
    ]
  })
  const der = new Uint8Array(cert.rawData)
  const digest = await webcrypto.subtle.digest('SHA-256', der)
  return {
    pem: cert.toString('pem') + '\n',
    der,
    fingerprint: Buffer.from(digest).toString('hex'),
    notBefore,
    notAfter,
    keys
  }
}

/**
 * The PKCS#8 PEM of a generated key pair's private key: for tests that a key is refused.
 * @param {CryptoKeyPair} keys
 */
export async function privateKeyPem(keys) {
  const der = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n'
}

export { DAY }

// `node tools/certs.mjs DIR [COUNT]`: writes COUNT (default 2) sample CA certificates to DIR.
if (import.meta.url === (await import('node:url')).pathToFileURL(process.argv[1] ?? '').href) {
  const { mkdir, writeFile } = await import('node:fs/promises')
  const { join } = await import('node:path')
  const [dir, count = '2'] = process.argv.slice(2)
  if (!dir) {
    console.error('usage: node tools/certs.mjs DIR [COUNT]')
    process.exit(2)
  }
  await mkdir(dir, { recursive: true })
  for (let i = 1; i <= Number(count); i++) {
    await writeFile(join(dir, `sample-ca-${i}.pem`), (await makeCa({ cn: `Sample CA ${i}` })).pem)
  }
  console.log(`Wrote ${count} sample CA certificates to ${dir}.`)
}
