export const id = 931;
export const ids = [931,879,255];
export const modules = {

/***/ 6879:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   CertificatesApi: () => (/* binding */ CertificatesApi),
/* harmony export */   q: () => (/* binding */ retryDelayMs)
/* harmony export */ });
/* harmony import */ var _actions_http_client__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(4942);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3916);


const RETRYABLE_STATUS = (status) => status === 408 || status === 409 || status === 429 || status >= 500;
/** How long to wait before retry `attempt` (1-based): the server's word, else backoff with jitter. */
function retryDelayMs(attempt, headers, now = Date.now()) {
    const ms = Number(headers['retry-after-ms']);
    if (headers['retry-after-ms'] !== undefined && Number.isFinite(ms) && ms >= 0 && ms <= 60_000)
        return ms;
    const after = headers['retry-after'];
    if (typeof after === 'string' && after.trim() !== '') {
        const seconds = Number(after);
        const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - now;
        if (Number.isFinite(wait) && wait >= 0 && wait <= 60_000)
            return wait;
    }
    const backoff = Math.min(500 * 2 ** (attempt - 1), 8000);
    return backoff * (1 - Math.random() * 0.25);
}
function toRemote(wire) {
    return {
        id: wire.id,
        name: wire.name ?? null,
        createdAt: wire.created_at,
        active: wire.active,
        validAt: wire.certificate_details?.valid_at,
        expiresAt: wire.certificate_details?.expires_at
    };
}
function isCertificate(value) {
    return typeof value === 'object' && value !== null && typeof value.id === 'string';
}
function isList(value) {
    return typeof value === 'object' && value !== null && Array.isArray(value.data);
}
/** Says what a failed answer means, in the API's own words where it gave some. */
function describeFailure(what, status, body) {
    let message = body.trim().slice(0, 200) || 'no error message';
    let code = null;
    try {
        const parsed = JSON.parse(body);
        if (typeof parsed.error?.message === 'string')
            message = parsed.error.message;
        if (typeof parsed.error?.code === 'string')
            code = parsed.error.code;
    }
    catch {
        // not JSON: keep the start of the body
    }
    if (status === 401) {
        return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD(`The OpenAI API refused the admin key (401: ${message}) while trying to ${what}: check that admin-api-key holds a current admin key (sk-admin-…) of the organization.`, status, code);
    }
    if (status === 403) {
        return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD(`The OpenAI API denied access (403: ${message}) while trying to ${what}: the admin key needs permission to manage the organization's certificates.`, status, code);
    }
    return new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD(`The OpenAI API failed to ${what} (${status}: ${message}).`, status, code);
}
/**
 * The organization certificates endpoints, over @actions/http-client (which honours the runner's
 * proxy settings). The admin key goes only in the Authorization header, only to the base URL;
 * redirects are not followed.
 */
class CertificatesApi {
    options;
    http;
    sleep;
    /** Every request made, as `METHOD path`, in order: what a run costs. */
    calls = [];
    constructor(options) {
        this.options = options;
        this.http = new _actions_http_client__WEBPACK_IMPORTED_MODULE_0__/* .HttpClient */ .Qq('openai-certificates-action', [], {
            socketTimeout: options.timeoutSeconds * 1000,
            allowRedirects: false,
            keepAlive: true
        });
        this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    }
    dispose() {
        this.http.dispose();
    }
    /** Every certificate in the organization, following `has_more` / `after`. */
    async listAll() {
        const all = [];
        let after = null;
        for (;;) {
            const query = `?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`;
            const page = await this.send('GET', `/organization/certificates${query}`, undefined, 'list the organization certificates', isList);
            all.push(...page.data.filter(isCertificate).map(toRemote));
            if (!page.has_more)
                return all;
            const next = page.last_id ?? page.data.at(-1)?.id ?? null;
            if (!next || next === after) {
                throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD('The OpenAI API said more certificates follow but gave no cursor to ask for them: try again later.');
            }
            after = next;
        }
    }
    /** The PEM of one certificate, or undefined when the API did not send it. */
    async getContent(id) {
        const cert = await this.send('GET', `/organization/certificates/${encodeURIComponent(id)}?include%5B%5D=content`, undefined, `read certificate ${id}`, isCertificate);
        return cert.certificate_details?.content;
    }
    /** Uploads one certificate. Not retried on an ambiguous failure: it may have been stored. */
    async upload(pem, name) {
        const cert = await this.send('POST', '/organization/certificates', { certificate: pem, name }, `upload certificate '${name}'`, isCertificate);
        return toRemote(cert);
    }
    async send(method, path, body, what, isExpected) {
        const url = `${this.options.baseUrl}${path}`;
        const idempotent = method === 'GET';
        for (let attempt = 1;; attempt++) {
            const last = attempt > this.options.maxRetries;
            let status;
            let headers = {};
            let failure;
            let retryable;
            this.calls.push(`${method} ${path.split('?')[0]}`);
            try {
                const response = await this.http.request(method, url, body === undefined ? null : JSON.stringify(body), {
                    authorization: `Bearer ${this.options.adminKey}`,
                    accept: 'application/json',
                    ...(body === undefined ? {} : { 'content-type': 'application/json' })
                });
                status = response.message.statusCode ?? 0;
                headers = response.message.headers;
                const text = await response.readBody();
                if (status >= 200 && status < 300) {
                    let parsed;
                    try {
                        parsed = JSON.parse(text);
                    }
                    catch {
                        parsed = undefined;
                    }
                    if (isExpected(parsed))
                        return parsed;
                    failure = new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD(`The OpenAI API answered an unexpected body while trying to ${what} (status ${status}, not the JSON it should be).`, status);
                    retryable = idempotent;
                }
                else {
                    failure = describeFailure(what, status, text);
                    const should = headers['x-should-retry'];
                    retryable =
                        should === 'true' ? true : should === 'false' ? false : RETRYABLE_STATUS(status);
                    // A write refused by rate limiting was not carried out; any other failed write may have been.
                    if (!idempotent && status !== 429)
                        retryable = false;
                }
            }
            catch (error) {
                failure = new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD(`Could not reach the OpenAI API at ${new URL(url).origin} to ${what}: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_1__/* .messageOf */ .bD)(error)}.`);
                retryable = idempotent;
            }
            if (!retryable || last)
                throw failure;
            const wait = retryDelayMs(attempt, headers);
            this.options.log(`${method} ${path.split('?')[0]} ${status ?? 'failed (no answer)'}; retry ${attempt} of ${this.options.maxRetries} in ${(wait / 1000).toFixed(1)} s`);
            await this.sleep(wait);
        }
    }
}


/***/ }),

/***/ 8931:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   applyUploads: () => (/* binding */ applyUploads)
/* harmony export */ });
/* unused harmony exports UPLOAD_CONCURRENCY, isAmbiguous */
/* harmony import */ var _api_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(6879);
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(3916);
/* harmony import */ var _inventory_js__WEBPACK_IMPORTED_MODULE_2__ = __webpack_require__(4255);
/* harmony import */ var _pool_js__WEBPACK_IMPORTED_MODULE_3__ = __webpack_require__(9537);




/** How many uploads are under way at once. */
const UPLOAD_CONCURRENCY = 4;
/** A failure after which the certificate may or may not have been stored. */
function isAmbiguous(error) {
    return (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD &&
        (error.status === undefined || error.status === 408 || error.status === 409 || error.status >= 500));
}
/** A refusal because the organization is full, which another run may have caused since the plan. */
function isCapRefusal(error) {
    return (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ApiError */ .hD &&
        error.status !== undefined &&
        error.status >= 400 &&
        error.status < 500 &&
        /limit|maximum|cap\b/i.test(`${error.code ?? ''} ${error.message}`));
}
/**
 * Looks in the organization for a copy of `named` stored by an upload whose answer was lost:
 * only certificates that are new since the inventory and have its validity dates are read.
 */
async function findStored(api, named, knownIds) {
    const fresh = (0,_inventory_js__WEBPACK_IMPORTED_MODULE_2__/* .candidates */ .Xi)(await api.listAll(), [named.cert]).filter((r) => !knownIds.has(r.id));
    for (const remote of fresh.sort((a, b) => a.createdAt - b.createdAt)) {
        const pem = await api.getContent(remote.id);
        if (pem !== undefined && (0,_inventory_js__WEBPACK_IMPORTED_MODULE_2__/* .fingerprintOfPem */ .C_)(pem) === named.cert.fingerprint)
            return remote;
    }
    return undefined;
}
/**
 * Uploads one certificate. When the answer is lost (connection error, timeout, 5xx), it looks
 * before it tries again, and adopts the copy it finds: a retry never leaves a duplicate behind.
 */
async function uploadOne(api, named, options) {
    const sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    for (let attempt = 1;; attempt++) {
        try {
            return (await api.upload(named.cert.pem, named.name)).id;
        }
        catch (error) {
            if (!isAmbiguous(error) || attempt > options.maxRetries)
                throw error;
            options.log(`Upload of '${named.name}' got no clear answer (${error.message}); looking whether it was stored.`);
            const stored = await findStored(api, named, options.knownIds);
            if (stored) {
                options.log(`'${named.name}' was stored as ${stored.id} before the answer was lost; using it.`);
                return stored.id;
            }
            const wait = (0,_api_js__WEBPACK_IMPORTED_MODULE_0__/* .retryDelayMs */ .q)(attempt, {});
            options.log(`'${named.name}' was not stored; upload retry ${attempt} of ${options.maxRetries} in ${(wait / 1000).toFixed(1)} s.`);
            await sleep(wait);
        }
    }
}
/**
 * Uploads each certificate as its own PEM under its name. `uploaded` (fingerprint → new id) is
 * filled as answers come, so that a run that fails part way can still report what it created.
 */
async function applyUploads(api, uploads, uploaded, options) {
    try {
        await (0,_pool_js__WEBPACK_IMPORTED_MODULE_3__/* .mapLimit */ .s)(uploads, UPLOAD_CONCURRENCY, async (named) => {
            const id = await uploadOne(api, named, options);
            uploaded.set(named.cert.fingerprint, id);
            options.log(`Uploaded '${named.name}' (${named.cert.file}, certificate ${named.cert.index}) as ${id}.`);
        });
    }
    catch (error) {
        const left = uploads.length - uploaded.size;
        const done = `${uploaded.size} of ${uploads.length} new certificate${uploads.length === 1 ? ' was' : 's were'} uploaded; ${left} ${left === 1 ? 'was' : 'were'} not`;
        if (isCapRefusal(error)) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ(`The organization reached its certificate cap during this run (another workflow or person may have uploaded at the same time): ${error.message} ${done}. Free slots, then run the action again.`);
        }
        if (isAmbiguous(error)) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ(`${error.message} ${done}. Run the action again when the API is back: it skips the certificates already in the organization, so nothing is uploaded twice.`);
        }
        if (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_1__/* .ActionError */ .lZ(`${error.message} ${done}.`);
        throw error;
    }
}


/***/ }),

/***/ 4255:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   C_: () => (/* binding */ fingerprintOfPem),
/* harmony export */   Xi: () => (/* binding */ candidates),
/* harmony export */   takeInventory: () => (/* binding */ takeInventory)
/* harmony export */ });
/* unused harmony export FETCH_CONCURRENCY */
/* harmony import */ var _parse_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(2828);
/* harmony import */ var _pool_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(9537);


/** How many certificate contents are fetched at once. */
const FETCH_CONCURRENCY = 8;
const seconds = (date) => Math.floor(date.getTime() / 1000);
/**
 * The remote certificates that may be the same as a local one: those whose validity window equals
 * a local certificate's, to the second. Any other cannot be, so its content is never fetched.
 */
function candidates(remote, local) {
    const windows = new Set(local.map((c) => `${seconds(c.notBefore)}/${seconds(c.notAfter)}`));
    return remote.filter((r) => windows.has(`${r.validAt}/${r.expiresAt}`));
}
/** The fingerprint of a PEM the API sent, or undefined when it holds no readable certificate. */
function fingerprintOfPem(pem) {
    return (0,_parse_js__WEBPACK_IMPORTED_MODULE_0__/* .parseFile */ .CJ)('remote', Buffer.from(pem, 'utf8')).certificates[0]?.fingerprint;
}
/**
 * Lists the organization and fingerprints the candidates. Where the API holds the same certificate
 * more than once, the oldest copy stands for it.
 */
async function takeInventory(api, local, log) {
    const certificates = await api.listAll();
    const toFetch = candidates(certificates, local);
    log(`The organization holds ${certificates.length} certificate${certificates.length === 1 ? '' : 's'}; ${toFetch.length} may match a local one by validity dates.`);
    const contents = await (0,_pool_js__WEBPACK_IMPORTED_MODULE_1__/* .mapLimit */ .s)(toFetch, FETCH_CONCURRENCY, (remote) => api.getContent(remote.id));
    const byFingerprint = new Map();
    const oldestFirst = toFetch
        .map((remote, i) => ({ remote, pem: contents[i] }))
        .sort((a, b) => a.remote.createdAt - b.remote.createdAt);
    for (const { remote, pem } of oldestFirst) {
        const fingerprint = pem === undefined ? undefined : fingerprintOfPem(pem);
        if (fingerprint === undefined) {
            log(`Certificate ${remote.id}: the API sent no readable content; it is not compared.`);
            continue;
        }
        if (!byFingerprint.has(fingerprint))
            byFingerprint.set(fingerprint, remote);
    }
    return { certificates, byFingerprint };
}


/***/ })

};
