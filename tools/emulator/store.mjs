// @ts-check
/**
 * The emulator's organization: its certificates and projects, the clock that orders them, and
 * every rule an upload must meet (the CA rules, the expiry rule, the cap). Routes and tests change
 * it only through what `createStore` returns.
 */
import { X509Certificate, randomBytes } from 'node:crypto'

/**
 * @typedef {object} StoredCertificate
 * @property {string} id
 * @property {string | null} name
 * @property {number} created_at
 * @property {number} valid_at
 * @property {number} expires_at
 * @property {string} content      the PEM of the first certificate uploaded
 * @property {boolean} active      at organization scope
 * @property {Set<string>} projects projects where it is active
 * @property {{ call: number, at: number }} [listed] lists show it from this list call and this
 *   time (ms) on, when the emulator lags (`listLag`)
 */

/**
 * A project of the organization, as `GET /organization/projects` shows it.
 * @typedef {object} StoredProject
 * @property {'organization.project'} object
 * @property {string} id
 * @property {string} name
 * @property {number} created_at
 * @property {number | null} archived_at
 * @property {'active' | 'archived'} status
 */

export class HttpError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {string | null} [code]
   * @param {string | null} [param]
   */
  constructor(status, message, code = null, param = null) {
    super(message)
    this.status = status
    this.code = code
    this.param = param
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

/**
 * Unix seconds of OpenSSL's date text (`Dec 31 23:59:59 9999 GMT`), read by hand: Date.parse maps
 * years 0–99 to the 1900s and 2000s, and a server stores the certificate's real dates.
 * @param {string} text
 */
export function seconds(text) {
  const m = /^(\w{3}) +(\d+) (\d\d):(\d\d):(\d\d) (\d+) GMT$/.exec(text)
  if (!m) return Math.floor(Date.parse(text) / 1000)
  const date = new Date(0)
  date.setUTCFullYear(Number(m[6]), MONTHS.indexOf(m[1]), Number(m[2]))
  date.setUTCHours(Number(m[3]), Number(m[4]), Number(m[5]))
  return Math.floor(date.getTime() / 1000)
}

/**
 * The earlier help article's rules on an uploaded CA, read with @peculiar/x509: the reason a
 * certificate breaks one, or undefined.
 */
async function strictRules() {
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  /** @param {string} pem */
  return (pem) => {
    const cert = new x509.X509Certificate(pem)
    const usages = cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0
    const needed = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign
    if (!cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId)
      return 'The certificate must have a Subject Key Identifier extension.'
    if (!cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId)
      return 'The certificate must have an Authority Key Identifier extension with a key identifier.'
    if ((usages & needed) !== needed) return 'The certificate must have Key Usage with Certificate Sign and CRL Sign.'
    if (pem.length >= 16 * 1024) return 'The certificate must be smaller than 16 KB.'
    return undefined
  }
}

/**
 * An empty organization.
 * @param {import('../emulator.mjs').EmulatorOptions} options
 */
export async function createStore(options) {
  const cap = options.cap ?? 50
  const now = options.now ?? (() => Math.floor(Date.now() / 1000))
  /** @type {StoredCertificate[]} */
  const certificates = []
  /** @type {StoredProject[]} */
  const projects = []
  let clock = 0
  let listCalls = 0
  /** `listLag`, which `reset` may change for the next test that reuses this emulator. */
  let listLag = options.listLag
  // The earlier rules need Key Usage, SKI and AKI, which Node 20's X509Certificate does not show.
  const strict = options.caRules === 'strict' ? await strictRules() : undefined

  /** @param {string} content @param {string | null} name @param {boolean} [lag] */
  async function store(content, name, lag = false) {
    const cert = check(content, name)
    if (options.storeDelayMs) await new Promise((resolve) => setTimeout(resolve, options.storeDelayMs))
    clock = Math.max(clock + 1, now())
    cert.created_at = clock
    if (lag && listLag) cert.listed = { call: listCalls + (listLag.calls ?? 0) + 1, at: Date.now() + (listLag.ms ?? 0) }
    certificates.push(cert)
    return cert
  }

  /** Whether lists show `c` yet. @param {StoredCertificate} c */
  const listed = (c) => !c.listed || (listCalls >= c.listed.call && Date.now() >= c.listed.at)

  /**
   * Everything an upload checks, the cap included; the certificate to store.
   * @param {string} content @param {string | null} name @param {boolean} [expired]  skip the expiry rule
   */
  function check(content, name, expired = false) {
    /** @type {X509Certificate} */
    let x
    try {
      x = new X509Certificate(content)
    } catch {
      throw new HttpError(
        400,
        'The certificate could not be parsed as a PEM-encoded X.509 certificate.',
        'mtls_certificate_invalid',
        'certificate'
      )
    }
    if (!x.ca)
      throw new HttpError(400, 'The certificate is not a CA certificate.', 'mtls_certificate_invalid', 'certificate')
    if (!expired && seconds(x.validTo) < now() + 86400)
      throw new HttpError(
        400,
        'The certificate has expired or expires within a day.',
        'expired_certificate',
        'certificate'
      )
    const broken = strict?.(content)
    if (broken) throw new HttpError(400, broken, 'mtls_certificate_invalid', 'certificate')
    if (certificates.length >= cap) {
      throw new HttpError(
        400,
        `The organization already has the maximum of ${cap} certificates. Delete one to upload another.`,
        'certificate_limit_exceeded'
      )
    }
    /** @type {StoredCertificate} */
    const cert = {
      id: `cert_${randomBytes(12).toString('hex')}`,
      name,
      created_at: 0,
      valid_at: seconds(x.validFrom),
      expires_at: seconds(x.validTo),
      content: x.toString(),
      active: false,
      projects: new Set()
    }
    return cert
  }

  /** @param {string} id */
  function find(id) {
    const cert = certificates.find((c) => c.id === id)
    if (!cert) throw new HttpError(404, `No certificate found with id '${id}'.`, null, 'certificate_id')
    return cert
  }

  return {
    certificates,
    projects,
    now,
    store,
    listed,
    find,
    /** Counts a list call: lagging certificates show after enough of them. */
    countList: () => {
      listCalls++
    },
    /**
     * Puts a certificate in the organization as if uploaded earlier (no request is logged); with
     * `expired`, one that was uploaded while valid and has expired since.
     * @param {string} pem @param {string | null} [name] @param {{ expired?: boolean }} [how]
     */
    seed: (pem, name = null, { expired = false } = {}) => {
      const cert = check(pem, name, expired)
      cert.created_at = clock = Math.max(clock + 1, now())
      certificates.push(cert)
      return cert
    },
    /**
     * Adds a project to the organization (no request is logged); an archived one keeps the
     * certificates active in it, as OpenAI's archived projects do.
     * @param {{ id?: string, name?: string, archived?: boolean }} [project]
     */
    addProject: ({ id, name, archived = false } = {}) => {
      clock = Math.max(clock + 1, now())
      /** @type {StoredProject} */
      const project = {
        object: 'organization.project',
        id: id ?? `proj_${randomBytes(8).toString('hex')}`,
        name: name ?? `Project ${projects.length + 1}`,
        created_at: clock,
        archived_at: archived ? clock : null,
        status: archived ? 'archived' : 'active'
      }
      projects.push(project)
      return project
    },
    /**
     * Empties the organization; listings then lag as `listLag` says (none when not given).
     * @param {import('../emulator.mjs').EmulatorOptions['listLag']} [next]
     */
    empty: (next) => {
      certificates.length = 0
      projects.length = 0
      listLag = next
    },
    /**
     * From now on, listings lag as given (undefined: not at all); what was stored lagging keeps its lag.
     * @param {import('../emulator.mjs').EmulatorOptions['listLag']} next
     */
    setListLag: (next) => {
      listLag = next
    }
  }
}

/** @typedef {Awaited<ReturnType<typeof createStore>>} Store */
