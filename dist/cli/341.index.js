export const id = 341;
export const ids = [341];
export const modules = {

/***/ 341:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  publish: () => (/* binding */ publish)
});

// EXTERNAL MODULE: ./node_modules/@actions/http-client/lib/index.js + 1 modules
var lib = __webpack_require__(4942);
// EXTERNAL MODULE: ./src/cancel.ts
var cancel = __webpack_require__(833);
// EXTERNAL MODULE: ./src/errors.ts
var errors = __webpack_require__(3916);
// EXTERNAL MODULE: ./src/plan.ts
var src_plan = __webpack_require__(2464);
;// CONCATENATED MODULE: ./src/api.ts




/** A `createdAt` the API did not give: later than any real one, so such a copy is never the oldest. */
const UNKNOWN_TIME = Number.MAX_SAFE_INTEGER;
/**
 * The most certificates, and the most pages, a listing may hold before it is taken for broken:
 * twice the 50 an organization can hold, which leaves room to name the extras of an organization
 * found over the cap, even at one certificate a page.
 */
const LIST_BOUND = 2 * src_plan/* CERTIFICATE_CAP */.J5;
/** An answer of the expected kind that breaks the contract; its message says how. */
class UnexpectedAnswer extends Error {
}
/** An attempt that got no complete answer; `status` when the headers came but the body did not. */
class NoCompleteAnswer extends Error {
    status;
    constructor(message, status) {
        super(message);
        this.status = status;
    }
}
const RETRYABLE_STATUS = (status) => status === 408 || status === 409 || status === 429 || status >= 500;
/** The wait the server asked for: `retry-after-ms`, else `retry-after` (seconds or a date), within 0–60 s. */
function requestedWaitMs(headers, now = Date.now()) {
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
    return undefined;
}
/** How long to wait before retry `attempt` (1-based): the server's word, else backoff with jitter. */
function retryDelayMs(attempt, headers, now = Date.now()) {
    const requested = requestedWaitMs(headers, now);
    if (requested !== undefined)
        return requested;
    const backoff = Math.min(500 * 2 ** (attempt - 1), 8000);
    return backoff * (1 - Math.random() * 0.25);
}
/** The latest instant X.509 can express (9999-12-31T23:59:59Z): anything larger is not unix seconds. */
const LAST_SECOND = 253_402_300_799;
/** A date the API sent: unix seconds, or undefined when it sent none or another form (ISO text, ms). */
function unixSeconds(value) {
    return typeof value === 'number' && Number.isSafeInteger(value) && Math.abs(value) <= LAST_SECOND ? value : undefined;
}
/** One certificate of an answer, checked: an item without an id is an error, never a free slot. */
function toRemote(value) {
    if (!isObject(value))
        throw new UnexpectedAnswer('a certificate that is not a JSON object');
    const wire = value;
    if (typeof wire.id !== 'string' || wire.id.trim() === '')
        throw new UnexpectedAnswer('a certificate without an id');
    const details = isObject(wire.certificate_details) ? wire.certificate_details : {};
    return {
        id: wire.id,
        name: typeof wire.name === 'string' ? wire.name : null,
        createdAt: unixSeconds(wire.created_at) ?? UNKNOWN_TIME,
        active: typeof wire.active === 'boolean' ? wire.active : undefined,
        validAt: unixSeconds(details.valid_at),
        expiresAt: unixSeconds(details.expires_at)
    };
}
/** A certificate answer (upload, rename, an activation's item); one without an id throws, saying so. */
function isCertificate(value) {
    return isObject(value) && toRemote(value) !== undefined;
}
function isObject(value) {
    return typeof value === 'object' && value !== null;
}
function isList(value) {
    return typeof value === 'object' && value !== null && Array.isArray(value.data);
}
/** A page of a listing: the envelope, and every item a certificate with an id. */
function isPage(value) {
    if (!isList(value))
        return false;
    if (typeof value.has_more !== 'boolean')
        throw new UnexpectedAnswer("a list without a true or false 'has_more'");
    value.data.forEach((item, i) => {
        try {
            toRemote(item);
        }
        catch (error) {
            throw new UnexpectedAnswer(`${(0,errors/* messageOf */.bD)(error)} (item ${i + 1} of the page)`);
        }
    });
    return true;
}
/** A certificate read with its content: the PEM must be there, as text. */
function hasContent(id) {
    return (value) => {
        const answered = toRemote(value).id;
        if (answered !== id)
            throw new UnexpectedAnswer(`the answer is about certificate ${answered}`);
        const content = value.certificate_details?.content;
        if (typeof content === 'string')
            return true;
        throw new UnexpectedAnswer(`no PEM content (certificate_details.content is ${content === undefined ? 'missing' : content === null ? 'null' : `a ${typeof content}`})`);
    };
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
    if ((status === 401 || status === 403) && /mtls|mutual tls|client certificate/i.test(`${code ?? ''} ${message}`)) {
        return new errors/* ApiError */.hD(`The OpenAI API requires mutual TLS for this organization (${status}: ${message}) while trying to ${what}: set client-certificate and client-key from secrets (base-url then defaults to https://mtls.api.openai.com/v1).`, status, code);
    }
    if (status === 401) {
        return new errors/* ApiError */.hD(`The OpenAI API refused the admin key (401: ${message}) while trying to ${what}: the key was not accepted. Check that admin-api-key holds a current admin key (sk-admin-…) of this organization, not a project key, and that it was not revoked.`, status, code);
    }
    if (status === 403) {
        // OpenAI's role-based access control: api.mtls.read lists and reads, api.mtls.write changes.
        const reads = /^(list|read)\b/.test(what);
        const permission = reads
            ? 'api.mtls.read (list and read certificates), which plan needs'
            : 'api.mtls.write (upload, rename, activate, deactivate and delete certificates), which publish needs';
        return new errors/* ApiError */.hD(`The OpenAI API denied access (403: ${message}) while trying to ${what}: the admin key needs the permission ${permission}. Give the key's owner a role with it in the organization's settings, or use an admin key that has it.`, status, code);
    }
    return new errors/* ApiError */.hD(`The OpenAI API failed to ${what} (${status}: ${message}).`, status, code);
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
    /** Handed to the request that is being prepared, so that its deadline can abort it. */
    nextSignal;
    constructor(options) {
        this.options = options;
        // @actions/http-client prepares each request synchronously when asked for it, and lets handlers
        // amend its options: that is where the attempt's abort signal goes.
        const withSignal = {
            prepareRequest: (request) => {
                request.signal = this.nextSignal;
            },
            canHandleAuthentication: () => false,
            handleAuthentication: () => Promise.reject(new Error('not supported'))
        };
        this.http = new lib/* HttpClient */.Qq('openai-certificates-action', [withSignal], {
            socketTimeout: options.timeoutSeconds * 1000,
            allowRedirects: false,
            keepAlive: true
        });
        if (options.clientTls) {
            // @actions/http-client has no option for a client certificate; its agent (which also
            // carries the runner's proxy settings) takes one in its TLS options, as it takes
            // rejectUnauthorized for ignoreSslError.
            const agent = this.http.getAgent(options.baseUrl);
            Object.assign(agent.options, { cert: options.clientTls.cert, key: options.clientTls.key });
        }
        this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    }
    dispose() {
        this.http.dispose();
    }
    /** Every certificate in the organization, following `has_more` / `after`. */
    listAll() {
        return this.listPages('/organization/certificates', 'list the organization certificates');
    }
    /** Every certificate as one project sees it (`active` at project scope). */
    listProject(projectId) {
        return this.listPages(`/organization/projects/${encodeURIComponent(projectId)}/certificates`, `list the certificates of project ${projectId}`);
    }
    /**
     * Follows the cursor while `has_more`, bounded: a cursor seen before (A→B→A), a certificate
     * listed twice, or more pages or certificates than an organization can hold stop it with an
     * error rather than loop forever.
     */
    async listPages(path, what) {
        const all = [];
        const ids = new Set();
        const cursors = new Set();
        let after = null;
        for (let pages = 1;; pages++) {
            const query = `?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`;
            const page = await this.send('GET', `${path}${query}`, undefined, what, isPage);
            const items = page.data.map(toRemote);
            let next = null;
            if (page.has_more) {
                next = typeof page.last_id === 'string' && page.last_id !== '' ? page.last_id : (items.at(-1)?.id ?? null);
                if (!next) {
                    throw new errors/* ApiError */.hD(`The OpenAI API said more certificates follow but gave no cursor to ask for them, while trying to ${what}: try again later.`);
                }
                if (next === after || cursors.has(next)) {
                    throw new errors/* ApiError */.hD(`The OpenAI API's listing went round in a circle (cursor ${next} came back after ${pages} pages) while trying to ${what}: stopped rather than follow it forever; try again later.`);
                }
                cursors.add(next);
            }
            for (const item of items) {
                if (ids.has(item.id)) {
                    throw new errors/* ApiError */.hD(`The OpenAI API listed certificate ${item.id} twice while trying to ${what}: a listing that repeats itself cannot be trusted; try again later.`);
                }
                ids.add(item.id);
                all.push(item);
            }
            if (all.length > LIST_BOUND || (next && pages >= LIST_BOUND)) {
                throw new errors/* ApiError */.hD(`The OpenAI API listed more than ${LIST_BOUND} ${all.length > LIST_BOUND ? 'certificates' : 'pages'} while trying to ${what}, though an organization holds at most ${src_plan/* CERTIFICATE_CAP */.J5} certificates: stopped rather than trust an endless listing; try again later.`);
            }
            if (!next)
                return all;
            after = next;
        }
    }
    /**
     * The PEM of one certificate, as the API sent it (any whitespace), or undefined when the
     * certificate is gone (404: deleted since it was listed). An answer without content is a failed
     * attempt, retried; after the retries it is an error that names the certificate.
     */
    async getContent(id) {
        try {
            const cert = await this.send('GET', `/organization/certificates/${encodeURIComponent(id)}?include%5B%5D=content`, undefined, `read certificate ${id}`, hasContent(id));
            return cert.certificate_details.content;
        }
        catch (error) {
            if (error instanceof errors/* ApiError */.hD && error.status === 404)
                return undefined;
            throw error;
        }
    }
    /** Uploads one certificate. Not retried on an ambiguous failure: it may have been stored. */
    async upload(pem, name) {
        const cert = await this.send('POST', '/organization/certificates', { certificate: pem, name }, `upload certificate '${name}'`, isCertificate);
        return toRemote(cert);
    }
    /** Renames a certificate: the same name however often it is sent, so it is retried. */
    async rename(id, name) {
        await this.send('POST', `/organization/certificates/${encodeURIComponent(id)}`, { name }, `rename certificate ${id}`, isCertificate, true);
    }
    /** Deletes a certificate; one already gone (a retried delete that had worked) counts as deleted. */
    async delete(id) {
        try {
            await this.send('DELETE', `/organization/certificates/${encodeURIComponent(id)}`, undefined, `delete certificate ${id}`, isObject, true);
        }
        catch (error) {
            if (error instanceof errors/* ApiError */.hD &&
                error.status === 404 &&
                this.calls.filter((c) => c === `DELETE /organization/certificates/${encodeURIComponent(id)}`).length > 1)
                return;
            throw error;
        }
    }
    /**
     * Activates or deactivates at most 10 certificates, for the organization or for one project.
     * The API makes these calls atomic and idempotent, so they are retried.
     */
    async setActive(ids, active, projectId) {
        const scope = projectId
            ? `/organization/projects/${encodeURIComponent(projectId)}/certificates`
            : '/organization/certificates';
        const verb = active ? 'activate' : 'deactivate';
        const where = projectId ? `in project ${projectId}` : 'for the organization';
        await this.send('POST', `${scope}/${verb}`, { certificate_ids: ids }, `${verb} ${ids.join(', ')} ${where}`, isList, true);
    }
    /**
     * One call, retried when that is safe: a failure of an `idempotent` call (a read, or a write
     * that leaves the same state however often it is made) is retried after connection errors,
     * timeouts, cut or unreadable answers, 408, 409, 429 and 5xx; any other write only after 429.
     * Every wait is the server's (`Retry-After`) when it gave one. Once the run is cancelled, no
     * write is started. A failure carries the server's requested wait and whether a write may have
     * been carried out (`ambiguous`).
     */
    async send(method, path, body, what, isExpected, idempotent = method === 'GET') {
        const url = `${this.options.baseUrl}${path}`;
        const route = `${method} ${path.split('?')[0]}`;
        for (let attempt = 1;; attempt++) {
            if (method !== 'GET' && cancel/* cancellation */.W.signal)
                throw new errors/* CancelledError */.cc(cancel/* cancellation */.W.signal);
            const last = attempt > this.options.maxRetries;
            let status;
            let headers = {};
            let failure;
            let retryable;
            let cut = false;
            this.calls.push(route);
            try {
                const answer = await this.exchange(method, url, body);
                status = answer.status;
                headers = answer.headers;
                if (status >= 200 && status < 300) {
                    let parsed;
                    let reason = 'not the JSON it should be';
                    try {
                        parsed = JSON.parse(answer.text);
                        if (isExpected(parsed))
                            return parsed;
                    }
                    catch (error) {
                        if (error instanceof UnexpectedAnswer)
                            reason = error.message;
                    }
                    failure = new errors/* ApiError */.hD(`The OpenAI API answered an unexpected body while trying to ${what} (status ${status}, ${reason}).`, status);
                    retryable = idempotent;
                }
                else {
                    failure = describeFailure(what, status, answer.text);
                    const should = headers['x-should-retry'];
                    retryable = should === 'true' ? true : should === 'false' ? false : RETRYABLE_STATUS(status);
                    // A write refused by rate limiting was not carried out; any other failed write may have been.
                    if (!idempotent && status !== 429)
                        retryable = false;
                }
            }
            catch (error) {
                status = error instanceof NoCompleteAnswer ? error.status : undefined;
                cut = status !== undefined;
                failure = cut
                    ? new errors/* ApiError */.hD(`The OpenAI API's answer was cut short while trying to ${what} (status ${status}: ${(0,errors/* messageOf */.bD)(error)}).`)
                    : new errors/* ApiError */.hD(`Could not reach the OpenAI API at ${new URL(url).origin} to ${what}: ${(0,errors/* messageOf */.bD)(error)}.`);
                retryable = idempotent;
            }
            failure.retryAfterMs = requestedWaitMs(headers);
            failure.ambiguous =
                method !== 'GET' &&
                    (failure.status === undefined ||
                        failure.status < 300 ||
                        failure.status === 408 ||
                        failure.status === 409 ||
                        failure.status >= 500);
            if (!retryable || last)
                throw failure;
            if (method !== 'GET' && cancel/* cancellation */.W.signal)
                throw failure;
            const wait = retryDelayMs(attempt, headers);
            const said = status === undefined ? 'failed (no answer)' : cut ? `${status}, answer cut short` : status;
            this.options.log(`${route} ${said}; retry ${attempt} of ${this.options.maxRetries} in ${(wait / 1000).toFixed(1)} s`);
            await this.sleep(wait);
        }
    }
    /**
     * One attempt, headers and body within `timeoutSeconds`: http-client's own socket timeout is
     * only an idle timeout (a trickling body never trips it), and its `readBody()` never settles
     * when the connection closes part way. Anything short of a complete answer in time rejects.
     */
    exchange(method, url, body) {
        const seconds = this.options.timeoutSeconds;
        const controller = new AbortController();
        return new Promise((resolve, reject) => {
            let message;
            let settled = false;
            const fail = (reason) => {
                if (settled)
                    return;
                settled = true;
                clearTimeout(timer);
                controller.abort();
                message?.destroy();
                reject(new NoCompleteAnswer(reason, message?.statusCode));
            };
            const timer = setTimeout(() => fail(message ? `the answer was not complete within ${seconds} s` : `no answer within ${seconds} s`), seconds * 1000);
            this.nextSignal = controller.signal;
            let pending;
            try {
                pending = this.http.request(method, url, body === undefined ? null : JSON.stringify(body), {
                    authorization: `Bearer ${this.options.adminKey}`,
                    accept: 'application/json',
                    ...(body === undefined ? {} : { 'content-type': 'application/json' })
                });
            }
            finally {
                this.nextSignal = undefined;
            }
            pending.then((response) => {
                message = response.message;
                if (settled)
                    return void message.destroy();
                const chunks = [];
                message.on('data', (chunk) => chunks.push(chunk));
                message.on('end', () => {
                    if (settled)
                        return;
                    settled = true;
                    clearTimeout(timer);
                    resolve({
                        status: message.statusCode ?? 0,
                        headers: message.headers,
                        text: Buffer.concat(chunks).toString('utf8')
                    });
                });
                message.on('error', (error) => fail(`the connection failed during the answer (${error.message})`));
                message.on('close', () => fail('the connection closed before the answer was complete'));
            }, (error) => fail((0,errors/* messageOf */.bD)(error)));
        });
    }
}

// EXTERNAL MODULE: ./src/parse.ts
var parse = __webpack_require__(2828);
// EXTERNAL MODULE: ./src/pool.ts
var pool = __webpack_require__(9537);
;// CONCATENATED MODULE: ./src/inventory.ts



/** Which certificates are active in each of `projectIds`, from the project listings. */
async function projectStates(api, projectIds) {
    const listings = await Promise.all(projectIds.map((id) => api.listProject(id)));
    return new Map(projectIds.map((id, i) => [id, new Set(listings[i].filter((r) => r.active === true).map((r) => r.id))]));
}
/** How many certificate contents are read at once: a no-op rerun of up to 16 is 2 round trips. */
const FETCH_CONCURRENCY = 16;
const seconds = (date) => Math.floor(date.getTime() / 1000);
const windowKnown = (r) => r.validAt !== undefined && r.expiresAt !== undefined;
/**
 * The remote certificates that may be the same as a local one: those whose validity window equals
 * a local certificate's, to the second, and those whose window the listing does not say. Any other
 * cannot be, so its content is never read.
 */
function candidates(remote, local) {
    const windows = new Set(local.map((c) => `${seconds(c.notBefore)}/${seconds(c.notAfter)}`));
    return remote.filter((r) => !windowKnown(r) || windows.has(`${r.validAt}/${r.expiresAt}`));
}
const REMOTE_PEM = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----$/;
/**
 * The certificate in a PEM text the API sent, whatever its whitespace (one line, spaces for line
 * breaks, CRLF, no final newline): rewrapped as canonical PEM and read by the files' own parser.
 * Undefined unless it is exactly one readable certificate.
 */
function readRemotePem(text) {
    const match = REMOTE_PEM.exec(text.trim());
    const base64 = match?.[1].replace(/\s+/g, '') ?? '';
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0)
        return undefined;
    const parsed = (0,parse/* parseFile */.CJ)('remote', Buffer.from((0,parse/* toPem */.sg)(Buffer.from(base64, 'base64')), 'utf8'));
    return parsed.certificates.length === 1 ? parsed.certificates[0] : undefined;
}
/** The fingerprint of a PEM the API sent, or undefined when it holds no readable certificate. */
function fingerprintOfPem(pem) {
    return readRemotePem(pem)?.fingerprint;
}
const NO_GUESS = 'It may be a copy of a certificate in the files, so the run stops rather than upload one on a guess: run the action again later, and if this persists, look at that certificate in the OpenAI dashboard.';
const day = (unix) => new Date(unix * 1000).toISOString().replace('.000Z', 'Z');
/**
 * The fingerprint of a remote certificate, from its content; undefined when it is gone (deleted
 * since it was listed). Content that cannot be read after the retries, is not one PEM certificate,
 * or is valid for another window than the one listed (another certificate's PEM) stops the run
 * with an error that names the certificate.
 */
async function readFingerprint(api, remote) {
    let content;
    try {
        content = await api.getContent(remote.id);
    }
    catch (error) {
        throw new errors/* ActionError */.lZ(`${(0,errors/* messageOf */.bD)(error)} ${NO_GUESS}`);
    }
    if (content === undefined)
        return undefined;
    const cert = readRemotePem(content);
    if (!cert) {
        throw new errors/* ActionError */.lZ(`Certificate ${remote.id} in the organization could not be compared with the files: the OpenAI API sent content for it that is not one PEM certificate. ${NO_GUESS}`);
    }
    const [from, to] = [seconds(cert.notBefore), seconds(cert.notAfter)];
    if (windowKnown(remote) && (from !== remote.validAt || to !== remote.expiresAt)) {
        throw new errors/* ActionError */.lZ(`Certificate ${remote.id} in the organization could not be compared with the files: the OpenAI API listed it as valid from ${day(remote.validAt)} to ${day(remote.expiresAt)}, but sent the PEM of a certificate valid from ${day(from)} to ${day(to)}. ${NO_GUESS}`);
    }
    return cert.fingerprint;
}
/** Oldest first, by (`createdAt`, `id`): every run that sees the same copies picks the same one. */
const oldestFirst = (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
/**
 * Lists the organization and fingerprints the candidates, reading their contents 16 at a time.
 * Where the API holds the same certificate more than once, the oldest copy stands for it; one
 * deleted since it was listed is left out.
 */
async function takeInventory(api, local, log) {
    const listed = await api.listAll();
    const toFetch = candidates(listed, local);
    const undated = toFetch.filter((r) => !windowKnown(r)).length;
    log(`The organization holds ${listed.length} certificate${listed.length === 1 ? '' : 's'}; ${toFetch.length} may match a local one by validity dates${undated ? ` (${undated} listed without them)` : ''}.`);
    let fetched = 0;
    const fingerprints = await (0,pool/* mapLimit */.s)(toFetch, FETCH_CONCURRENCY, async (remote) => {
        const fingerprint = await readFingerprint(api, remote);
        // A progress line per round of reads, for organizations with many look-alikes.
        if (++fetched % FETCH_CONCURRENCY === 0 || (fetched === toFetch.length && toFetch.length > FETCH_CONCURRENCY)) {
            log(`Fetched ${fetched}/${toFetch.length} certificates.`);
        }
        return fingerprint;
    });
    const gone = new Set(toFetch.filter((_, i) => fingerprints[i] === undefined).map((r) => r.id));
    for (const id of gone)
        log(`Certificate ${id} was deleted while this run read it; it is left out.`);
    const byFingerprint = new Map();
    const read = toFetch.map((remote, i) => ({ remote, fingerprint: fingerprints[i] }));
    for (const { remote, fingerprint } of read.sort((a, b) => oldestFirst(a.remote, b.remote))) {
        if (fingerprint !== undefined && !byFingerprint.has(fingerprint))
            byFingerprint.set(fingerprint, remote);
    }
    return { certificates: listed.filter((r) => !gone.has(r.id)), byFingerprint };
}

;// CONCATENATED MODULE: ./src/apply.ts





/** How many uploads, renames or activation calls are under way at once. */
const WRITE_CONCURRENCY = 4;
/** A failure after which the certificate may or may not have been stored. */
function isAmbiguous(error) {
    return (error instanceof errors/* ApiError */.hD &&
        (error.status === undefined ||
            error.status < 300 || // a success whose body could not be read
            error.status === 408 ||
            error.status === 409 ||
            error.status >= 500));
}
/** A refusal because the organization is full, which another run may have caused since the plan. */
function isCapRefusal(error) {
    return (error instanceof errors/* ApiError */.hD &&
        error.status !== undefined &&
        error.status >= 400 &&
        error.status < 500 &&
        /limit|maximum|cap\b/i.test(`${error.code ?? ''} ${error.message}`));
}
const label = (c) => `${c.name ? `'${c.name}'` : 'certificate'}${c.id ? ` (${c.id})` : ''}`;
const PAST = {
    delete: 'Deleted',
    upload: 'Uploaded',
    rename: 'Renamed',
    activate: 'Activated',
    deactivate: 'Deactivated'
};
/** One log line for a change: made, about to be made (publish), or that would be made (plan). */
function describeChange(c, tense = 'done') {
    const verb = tense === 'done' ? PAST[c.action] : `${tense === 'will' ? 'Will' : 'Would'} ${c.action}`;
    const detail = c.action === 'rename' ? ` from '${c.from ?? ''}'` : c.scope ? ` for the ${c.scope}` : '';
    return `${verb} ${label(c)}${detail}.`;
}
/**
 * Carries out a plan's changes, in their order, marking each one done as it is made, so that a run
 * that fails part way can still report exactly what it changed.
 */
class Applier {
    api;
    plan;
    changes;
    uploaded;
    options;
    constructor(api, plan, changes, 
    /** Fingerprint → id, for certificates created by this run. */
    uploaded, options) {
        this.api = api;
        this.plan = plan;
        this.changes = changes;
        this.uploaded = uploaded;
        this.options = options;
    }
    async run() {
        try {
            await this.prune();
            await this.uploads();
            await this.writeEach(this.changes.filter((c) => c.action === 'rename'), (c) => this.api.rename(c.id, c.name));
            await this.activation('activate');
            await this.activation('deactivate');
        }
        catch (error) {
            throw this.explain(error);
        }
    }
    done(change) {
        change.done = true;
        this.options.log(describeChange(change));
    }
    /** Deletes expired, inactive certificates until the uploads fit; one refused is reported and passed over. */
    async prune() {
        const needed = this.plan.deletions;
        if (needed === 0)
            return;
        const planned = this.changes.filter((c) => c.action === 'delete');
        let freed = 0;
        for (const remote of this.plan.prunable) {
            if (freed === needed)
                break;
            let change = planned.find((c) => c.id === remote.id);
            if (!change) {
                change = { action: 'delete', id: remote.id, name: remote.name, scope: null, fingerprint: null, done: false };
                this.changes.splice(this.changes.indexOf(planned.at(-1)) + 1, 0, change);
                planned.push(change);
            }
            try {
                await this.api.delete(remote.id);
                this.done(change);
                freed++;
            }
            catch (error) {
                if (!(error instanceof errors/* ApiError */.hD) || error.status === undefined || error.status >= 500)
                    throw error;
                change.error = error.message;
                this.options.warn(`Could not delete expired certificate ${label(change)}: ${error.message} It was left in place.`);
            }
        }
        for (const change of planned)
            if (!change.done && !change.error)
                this.changes.splice(this.changes.indexOf(change), 1);
        if (freed < needed) {
            throw new errors/* ActionError */.lZ(`Only ${freed} of the ${needed} expired certificates needed to make room could be deleted, so nothing was uploaded: deactivate or delete certificates you no longer use, then run the action again.`);
        }
    }
    async uploads() {
        const byFingerprint = new Map(this.changes.filter((c) => c.action === 'upload').map((c) => [c.fingerprint, c]));
        const checked = new Set();
        await (0,pool/* mapLimit */.s)(this.plan.uploads, WRITE_CONCURRENCY, async (named) => {
            const id = await this.uploadOne(named, checked);
            this.uploaded.set(named.cert.fingerprint, id);
            const change = byFingerprint.get(named.cert.fingerprint);
            change.id = id;
            this.done(change);
        });
    }
    /**
     * Uploads one certificate. When the answer is lost (connection error, timeout, 5xx), it looks
     * before it tries again and adopts the copy it finds: a retry never leaves a duplicate behind.
     */
    async uploadOne(named, checked) {
        const sleep = this.options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
        for (let attempt = 1;; attempt++) {
            try {
                return (await this.api.upload(named.cert.pem, named.name)).id;
            }
            catch (error) {
                if (!isAmbiguous(error) || attempt > this.options.maxRetries)
                    throw error;
                this.options.log(`Upload of '${named.name}' got no clear answer (${(0,errors/* messageOf */.bD)(error)}); looking whether it was stored.`);
                const stored = await this.findStored(named, checked);
                if (stored) {
                    this.options.log(`'${named.name}' was stored as ${stored.id} before the answer was lost; using it.`);
                    return stored.id;
                }
                const wait = error.retryAfterMs ?? retryDelayMs(attempt, {});
                this.options.log(`'${named.name}' was not stored; upload retry ${attempt} of ${this.options.maxRetries} in ${(wait / 1000).toFixed(1)} s.`);
                await sleep(wait);
            }
        }
    }
    /**
     * A copy of `named` stored since the inventory: only certificates that are new since then, have
     * its validity dates and have not been read already are fetched.
     */
    async findStored(named, checked) {
        const fresh = candidates(await this.api.listAll(), [named.cert]).filter((r) => !this.options.knownIds.has(r.id) && !checked.has(r.id));
        for (const remote of fresh.sort((a, b) => a.createdAt - b.createdAt)) {
            const pem = await this.api.getContent(remote.id);
            const fingerprint = pem === undefined ? undefined : fingerprintOfPem(pem);
            if (fingerprint === named.cert.fingerprint)
                return remote;
            // Another certificate of this run may be this one; only an unreadable one is never read again.
            if (fingerprint === undefined)
                checked.add(remote.id);
        }
        return undefined;
    }
    async writeEach(changes, write) {
        await (0,pool/* mapLimit */.s)(changes, WRITE_CONCURRENCY, async (change) => {
            await write(change);
            this.done(change);
        });
    }
    /** Activations (or deactivations), per scope, in calls of at most 10 ids. */
    async activation(action) {
        const changes = this.changes.filter((c) => c.action === action);
        for (const change of changes)
            if (change.id === null && change.fingerprint)
                change.id = this.uploaded.get(change.fingerprint) ?? null;
        const byScope = new Map();
        for (const change of changes)
            byScope.set(change.scope ?? '', [...(byScope.get(change.scope ?? '') ?? []), change]);
        const calls = [...byScope.values()].flatMap((inScope) => (0,src_plan/* batches */.Xy)(inScope));
        // Each change names its scope for people; the plan's scopes say which project that is.
        const scopes = new Map(this.plan.scopes.map((s) => [(0,src_plan/* scopeName */.OK)(s.scope), s.scope]));
        await (0,pool/* mapLimit */.s)(calls, WRITE_CONCURRENCY, async (batch) => {
            const scope = scopes.get(batch[0].scope ?? '');
            const projectId = scope?.kind === 'project' ? scope.id : undefined;
            await this.api.setActive(batch.map((c) => c.id), action === 'activate', projectId);
            for (const change of batch)
                this.done(change);
        });
    }
    /** One message for a failure part way: what went wrong, what was changed before it, what to do. */
    explain(error) {
        const made = this.changes.filter((c) => c.done);
        const left = this.changes.filter((c) => !c.done && !c.error);
        const done = `${made.length} of ${made.length + left.length} change${made.length + left.length === 1 ? ' was' : 's were'} made before it stopped${left.length ? ` (${countByAction(left)} not made)` : ''}`;
        const uploads = this.plan.uploads.length;
        const uploadsDone = `${this.uploaded.size} of ${uploads} new certificate${uploads === 1 ? ' was' : 's were'} uploaded; ${uploads - this.uploaded.size} ${uploads - this.uploaded.size === 1 ? 'was' : 'were'} not`;
        const what = uploads > 0 && this.changes.every((c) => c.action === 'upload') ? uploadsDone : done;
        if (isCapRefusal(error)) {
            return new errors/* ActionError */.lZ(`The organization reached its certificate cap during this run (another workflow or person may have uploaded at the same time): ${error.message} ${what}. Free slots, then run the action again.`);
        }
        if (isAmbiguous(error)) {
            return new errors/* ActionError */.lZ(`${error.message} ${what}. Run the action again when the API is back: it skips the certificates already in the organization, so nothing is uploaded twice.`);
        }
        if (error instanceof errors/* ActionError */.lZ)
            return new errors/* ActionError */.lZ(`${error.message} ${what}.`);
        return error;
    }
}
const NOUN = {
    delete: 'deletion',
    upload: 'upload',
    rename: 'rename',
    activate: 'activation',
    deactivate: 'deactivation'
};
/** `2 activations, 1 deactivation`. */
function countByAction(changes) {
    const counts = new Map();
    for (const c of changes)
        counts.set(c.action, (counts.get(c.action) ?? 0) + 1);
    return [...counts].map(([action, n]) => `${n} ${NOUN[action]}${n === 1 ? '' : 's'}`).join(', ');
}
/** Said in the plan, before any organization-wide activation. */
const ORGANIZATION_ACTIVATION_WARNING = 'Activating certificates for the organization makes every request to it, Admin API calls included, need a client certificate signed by an active CA (sent to https://mtls.api.openai.com). Give this action client-certificate and client-key for its later calls and runs, and make sure your other clients are ready.';

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
// EXTERNAL MODULE: external "node:fs/promises"
var promises_ = __webpack_require__(1455);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
;// CONCATENATED MODULE: ./src/plan-hash.ts




/** JSON with object keys sorted, so that equal data always gives equal text. */
function canonicalJson(value) {
    if (Array.isArray(value))
        return `[${value.map(canonicalJson).join(',')}]`;
    if (value !== null && typeof value === 'object') {
        const entries = Object.entries(value)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
    }
    return JSON.stringify(value);
}
const sha256 = (text) => (0,external_node_crypto_.createHash)('sha256').update(text).digest('hex');
const hashPlan = (plan) => sha256(canonicalJson(plan));
const byText = (items) => items
    .map((item) => [canonicalJson(item), item])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, item]) => item);
/**
 * The plan a reviewer sees: its changes (in a canonical order, so that a listing in another order
 * gives the same hash) and the state of every remote certificate they touch.
 */
function reviewablePlan(changes, inventory, projects) {
    const planned = changes.map((c) => ({
        action: c.action,
        id: c.id,
        name: c.name,
        scope: c.scope,
        fingerprint: c.fingerprint,
        from: c.from ?? null
    }));
    const touched = new Set(changes.map((c) => c.id).filter((id) => id !== null));
    const relied = inventory.certificates
        .filter((r) => touched.has(r.id))
        .map((r) => ({
        id: r.id,
        name: r.name,
        active: r.active === true,
        projects: [...projects]
            .filter(([, active]) => active.has(r.id))
            .map(([id]) => id)
            .sort()
    }));
    const plan = { version: 1, changes: byText(planned), relies_on: byText(relied) };
    return { hash: hashPlan(plan), plan };
}
/** Writes the plan where a workflow can upload it as an artifact: RUNNER_TEMP, else nowhere. */
async function writePlanFile(reviewable, runnerTemp, label) {
    if (!runnerTemp)
        return;
    const slug = label.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '');
    const file = external_node_path_.join(runnerTemp, `openai-certificates-plan${slug ? `-${slug}` : ''}.json`);
    await (0,promises_.mkdir)(runnerTemp, { recursive: true });
    await (0,promises_.writeFile)(file, `${JSON.stringify({ hash: reviewable.hash, ...reviewable.plan }, null, 2)}\n`);
    reviewable.file = file;
}
/** Reads a plan file (or `plan` output) from the workspace, by its real path. */
async function readPlanFile(file, workspace) {
    const where = `Input 'reviewed-plan' (${file})`;
    let text;
    try {
        const real = await (0,promises_.realpath)(external_node_path_.resolve(workspace, file));
        const root = await (0,promises_.realpath)(workspace);
        if (real !== root && !real.startsWith(root + external_node_path_.sep))
            throw new errors/* ActionError */.lZ(`${where} is outside the workspace: download the plan artifact into the workspace.`);
        text = await (0,promises_.readFile)(real, 'utf8');
    }
    catch (error) {
        if (error instanceof errors/* ActionError */.lZ)
            throw error;
        throw new errors/* ActionError */.lZ(`${where} cannot be read: ${(0,errors/* messageOf */.bD)(error)}. Download the plan artifact of the reviewed run.`);
    }
    let parsed;
    try {
        parsed = JSON.parse(text);
    }
    catch {
        throw new errors/* ActionError */.lZ(`${where} is not JSON: give the file the plan run wrote (its 'plan-file' output).`);
    }
    const doc = parsed;
    if (!doc || doc.version !== 1 || !Array.isArray(doc.changes) || !Array.isArray(doc.relies_on))
        throw new errors/* ActionError */.lZ(`${where} is not a plan of this action: give the file the plan run wrote.`);
    return { version: 1, changes: doc.changes, relies_on: doc.relies_on };
}
const describe = (c) => `${c.action} ${c.name ? `'${c.name}'` : 'certificate'}${c.id ? ` (${c.id})` : ''}${c.action === 'rename' ? ` from '${c.from ?? ''}'` : c.scope ? ` for the ${c.scope}` : ''}`;
const stateText = (s) => `${s.id} '${s.name ?? ''}' ${s.active ? 'active' : 'inactive'}${s.projects.length ? ` (active in ${s.projects.join(', ')})` : ''}`;
/** What differs between the reviewed plan and the current one, as one clause. */
function planDifference(reviewed, current) {
    const list = (changes) => changes.map(describe).join(', ') || 'no change';
    if (!reviewed)
        return `the plan is now: ${list(current.changes)}`;
    const minus = (a, b) => {
        const rest = b.map(canonicalJson);
        return a.filter((item) => {
            const at = rest.indexOf(canonicalJson(item));
            if (at === -1)
                return true;
            rest.splice(at, 1);
            return false;
        });
    };
    const parts = [];
    const added = minus(current.changes, reviewed.changes);
    const removed = minus(reviewed.changes, current.changes);
    if (added.length)
        parts.push(`now also ${list(added)}`);
    if (removed.length)
        parts.push(`no longer ${list(removed)}`);
    const before = new Map(reviewed.relies_on.map((s) => [s.id, s]));
    const changedState = minus(current.relies_on, reviewed.relies_on).filter((s) => before.has(s.id));
    for (const s of changedState)
        parts.push(`certificate ${stateText(before.get(s.id))} is now ${stateText(s)}`);
    return parts.join('; ') || 'the organization changed under the same changes';
}
/**
 * The reviewed-plan gate: before publish writes anything, the current plan must be the one whose
 * hash was approved. Throws one line saying what changed since the review.
 */
async function checkReviewedPlan(current, expectedHash, reviewedFile, workspace) {
    const reviewed = reviewedFile ? await readPlanFile(reviewedFile, workspace) : undefined;
    const expected = expectedHash.toLowerCase() || (reviewed ? hashPlan(reviewed) : '');
    if (!expected)
        return;
    if (reviewed && hashPlan(reviewed) !== expected) {
        throw new errors/* ActionError */.lZ(`Input 'reviewed-plan' is not the plan whose hash is 'expected-plan-hash' (${expected.slice(0, 12)}…), so nothing was changed: give the plan file and the hash of the same reviewed run.`);
    }
    if (current.hash === expected)
        return;
    throw new errors/* ActionError */.lZ(`The plan changed since it was reviewed (approved plan-hash ${expected.slice(0, 12)}…, now ${current.hash.slice(0, 12)}…), so nothing was changed: ${planDifference(reviewed, current.plan)}. Review the new plan and approve its hash.`);
}

;// CONCATENATED MODULE: ./src/publish.ts






/** inventory → plan → apply: the part that talks to the API. */
async function publish(runner, settings, outcome, now) {
    const api = new CertificatesApi({
        baseUrl: settings.baseUrl,
        adminKey: settings.adminKey,
        clientTls: settings.clientTls,
        timeoutSeconds: settings.timeoutSeconds,
        maxRetries: settings.maxRetries,
        log: (message) => runner.info(message)
    });
    try {
        const { lifecycle } = settings;
        const certificates = outcome.files.flatMap((f) => f.certificates);
        const [inventory, projects] = await runner.group('Inventory', () => Promise.all([
            takeInventory(api, certificates, (message) => runner.info(message)),
            projectStates(api, lifecycle.activate ? lifecycle.projectIds : [])
        ]));
        const plan = await runner.group('Plan', async () => {
            const local = certificates.map((cert) => ({ cert, name: outcome.names.get(cert) }));
            const plan = (0,src_plan/* makePlan */.Cs)(local, inventory, now, lifecycle, projects);
            Object.assign(outcome, { plan, inventory, projects });
            outcome.changes = (0,src_plan/* planChanges */.XA)(plan);
            const refused = (0,src_plan/* capProblem */.Ys)(plan);
            if (refused)
                throw new errors/* ActionError */.lZ(refused);
            await reviewGate(runner, settings, outcome);
            for (const change of outcome.changes)
                runner.info(describeChange(change, settings.mode === 'plan' ? 'would' : 'will'));
            if (outcome.changes.length === 0)
                runner.info('Nothing to change: the organization already matches the files.');
            if (outcome.changes.some((c) => c.action === 'activate' && c.scope === 'organization'))
                runner.warning(ORGANIZATION_ACTIVATION_WARNING);
            return plan;
        });
        if (settings.mode === 'plan' || outcome.changes.length === 0)
            return;
        await runner.group('Apply', () => new Applier(api, plan, outcome.changes, outcome.uploaded, {
            maxRetries: settings.maxRetries,
            knownIds: new Set(inventory.certificates.map((r) => r.id)),
            log: (message) => runner.info(message),
            warn: (message) => runner.warning(message)
        }).run());
    }
    finally {
        runner.debug(`API calls: ${api.calls.length} (${api.calls.join(', ')})`);
        api.dispose();
    }
}
/** Hashes the plan (and writes it, in plan mode); in publish, refuses a plan other than the reviewed one. */
async function reviewGate(runner, settings, outcome) {
    const reviewable = reviewablePlan(outcome.changes, outcome.inventory, outcome.projects ?? new Map());
    outcome.reviewable = reviewable;
    runner.info(`Plan hash: ${reviewable.hash}`);
    if (settings.mode === 'plan')
        await writePlanFile(reviewable, runner.env('RUNNER_TEMP'), settings.label);
    else
        await checkReviewedPlan(reviewable, settings.expectedPlanHash, settings.reviewedPlan, settings.workspace);
}


/***/ })

};
