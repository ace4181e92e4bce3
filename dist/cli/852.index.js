export const id = 852;
export const ids = [852];
export const modules = {

/***/ 9852:
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
var src_errors = __webpack_require__(3916);
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
/** An activate or deactivate answer: each item's id and its `active` flag as it now stands. */
function isActivation(value) {
    return (isList(value) &&
        value.data.every((item) => isCertificate(item) && typeof item.active === 'boolean'));
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
            throw new UnexpectedAnswer(`${(0,src_errors/* messageOf */.bD)(error)} (item ${i + 1} of the page)`);
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
        return new src_errors/* ApiError */.hD(`The OpenAI API requires mutual TLS for this organization (${status}: ${message}) while trying to ${what}: set client-certificate and client-key from secrets (base-url then defaults to https://mtls.api.openai.com/v1).`, status, code);
    }
    if (status === 401) {
        return new src_errors/* ApiError */.hD(`The OpenAI API refused the admin key (401: ${message}) while trying to ${what}: the key was not accepted. Check that admin-api-key holds a current admin key (sk-admin-…) of this organization, not a project key, and that it was not revoked.`, status, code);
    }
    if (status === 403) {
        // OpenAI's role-based access control: api.mtls.read lists and reads, api.mtls.write changes.
        const reads = /^(list|read)\b/.test(what);
        const permission = reads
            ? 'api.mtls.read (list and read certificates), which plan needs'
            : 'api.mtls.write (upload, rename, activate, deactivate and delete certificates), which publish needs';
        return new src_errors/* ApiError */.hD(`The OpenAI API denied access (403: ${message}) while trying to ${what}: the admin key needs the permission ${permission}. Give the key's owner a role with it in the organization's settings, or use an admin key that has it.`, status, code);
    }
    return new src_errors/* ApiError */.hD(`The OpenAI API failed to ${what} (${status}: ${message}).`, status, code);
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
                    throw new src_errors/* ApiError */.hD(`The OpenAI API said more certificates follow but gave no cursor to ask for them, while trying to ${what}: try again later.`);
                }
                if (next === after || cursors.has(next)) {
                    throw new src_errors/* ApiError */.hD(`The OpenAI API's listing went round in a circle (cursor ${next} came back after ${pages} pages) while trying to ${what}: stopped rather than follow it forever; try again later.`);
                }
                cursors.add(next);
            }
            for (const item of items) {
                if (ids.has(item.id)) {
                    throw new src_errors/* ApiError */.hD(`The OpenAI API listed certificate ${item.id} twice while trying to ${what}: a listing that repeats itself cannot be trusted; try again later.`);
                }
                ids.add(item.id);
                all.push(item);
            }
            if (all.length > LIST_BOUND || (next && pages >= LIST_BOUND)) {
                throw new src_errors/* ApiError */.hD(`The OpenAI API listed more than ${LIST_BOUND} ${all.length > LIST_BOUND ? 'certificates' : 'pages'} while trying to ${what}, though an organization holds at most ${src_plan/* CERTIFICATE_CAP */.J5} certificates: stopped rather than trust an endless listing; try again later.`);
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
            if (error instanceof src_errors/* ApiError */.hD && error.status === 404)
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
            if (error instanceof src_errors/* ApiError */.hD &&
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
        const answer = await this.send('POST', `${scope}/${verb}`, { certificate_ids: ids }, `${verb} ${ids.join(', ')} ${where}`, isActivation, true);
        return new Map(answer.data.map((item) => [item.id, item.active]));
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
                throw new src_errors/* CancelledError */.cc(cancel/* cancellation */.W.signal);
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
                    failure = new src_errors/* ApiError */.hD(`The OpenAI API answered an unexpected body while trying to ${what} (status ${status}, ${reason}).`, status);
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
                    ? new src_errors/* ApiError */.hD(`The OpenAI API's answer was cut short while trying to ${what} (status ${status}: ${(0,src_errors/* messageOf */.bD)(error)}).`)
                    : new src_errors/* ApiError */.hD(`Could not reach the OpenAI API at ${new URL(url).origin} to ${what}: ${(0,src_errors/* messageOf */.bD)(error)}.`);
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
            }, (error) => fail((0,src_errors/* messageOf */.bD)(error)));
        });
    }
}

// EXTERNAL MODULE: ./src/inventory.ts
var src_inventory = __webpack_require__(4255);
// EXTERNAL MODULE: ./src/pool.ts
var pool = __webpack_require__(9537);
;// CONCATENATED MODULE: ./src/apply.ts





/** How many uploads, renames or activation calls are under way at once. */
const WRITE_CONCURRENCY = 4;
/** How often an upload whose answer was lost is looked for, with backoff, before it is sent again. */
const LOOKS = 3;
/** How often a run whose uploads the cap refused lists again, with backoff, for slots racing runs free. */
const CAP_ROUNDS = 3;
const seconds = (ms) => (ms / 1000).toFixed(1);
/** A failure after which the certificate may or may not have been stored. */
function isAmbiguous(error) {
    return (error instanceof src_errors/* ApiError */.hD &&
        (error.ambiguous ||
            error.status === undefined ||
            error.status < 300 || // a success whose body could not be read
            error.status === 408 ||
            error.status === 409 ||
            error.status >= 500));
}
/** A refusal because the organization is full, which another run may have caused since the plan. */
function isCapRefusal(error) {
    return (error instanceof src_errors/* ApiError */.hD &&
        error.status !== undefined &&
        error.status >= 400 &&
        error.status < 500 &&
        /limit|maximum|cap\b/i.test(`${error.code ?? ''} ${error.message}`));
}
/** OpenAI refused the certificate itself (invalid, expired, any other 400), not the organization's cap. */
function isUploadRefusal(error) {
    return (error instanceof src_errors/* ApiError */.hD &&
        !isCapRefusal(error) &&
        (error.code === 'mtls_certificate_invalid' || error.code === 'expired_certificate' || error.status === 400));
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
    /** Ids the upload answers named: the only copies this run may delete. */
    created = new Set();
    /** Fingerprint → ids this run uploaded or adopted after a lost answer. */
    mine = new Map();
    /** Id → fingerprint of content read during the run (null: gone or unreadable), never read twice. */
    fingerprints = new Map();
    known;
    sleep;
    wrote = false;
    readBackDone = false;
    constructor(api, plan, changes, 
    /** Fingerprint → id, for certificates created by this run. */
    uploaded, options) {
        this.api = api;
        this.plan = plan;
        this.changes = changes;
        this.uploaded = uploaded;
        this.options = options;
        this.known = new Set(options.inventory.certificates.map((r) => r.id));
        this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    }
    async run() {
        try {
            await this.prune();
            if (this.plan.uploads.length > 0) {
                try {
                    await this.uploads();
                }
                catch (error) {
                    // What was stored before the failure is reported as the organization shows it, if it answers.
                    if (this.mine.size > 0 && !this.readBackDone)
                        await this.readBack().catch(() => undefined);
                    throw error;
                }
                // Read back what was written, whatever other runs did meanwhile, before acting on any id.
                await this.readBack();
            }
            await this.writeEach(this.changes.filter((c) => c.action === 'rename'), (c) => this.api.rename(c.id, c.name));
            await this.activation();
            await this.deactivation();
            if (this.wrote && !this.readBackDone)
                await this.readBack();
        }
        catch (error) {
            throw this.explain(error);
        }
    }
    done(change) {
        change.done = true;
        this.wrote = true;
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
                if (!(error instanceof src_errors/* ApiError */.hD) || error.status === undefined || error.status >= 500)
                    throw error;
                change.error = error.message;
                this.options.warn(`Could not delete expired certificate ${label(change)}: ${error.message} It was left in place.`);
            }
        }
        for (const change of planned)
            if (!change.done && !change.error)
                this.changes.splice(this.changes.indexOf(change), 1);
        if (freed < needed) {
            throw new src_errors/* ActionError */.lZ(`Only ${freed} of the ${needed} expired certificates needed to make room could be deleted, so nothing was uploaded: deactivate or delete certificates you no longer use, then run the action again.`);
        }
    }
    uploadChange(fingerprint) {
        return this.changes.find((c) => c.action === 'upload' && c.fingerprint === fingerprint);
    }
    /**
     * Uploads the new certificates. When the cap refuses some, another run may have uploaded them,
     * or be about to delete its copies: re-list and re-plan (a few times, with backoff) before failing.
     */
    async uploads() {
        let pending = this.plan.uploads;
        let looks = 0;
        for (;;) {
            const refused = [];
            let refusal;
            await (0,pool/* mapLimit */.s)(pending, WRITE_CONCURRENCY, async (named) => {
                const { fingerprint } = named.cert;
                try {
                    const id = await this.uploadOne(named);
                    this.mine.set(fingerprint, new Set([...(this.mine.get(fingerprint) ?? []), id]));
                    this.uploaded.set(fingerprint, id);
                    const change = this.uploadChange(fingerprint);
                    change.id = id;
                    this.done(change);
                }
                catch (error) {
                    if (isUploadRefusal(error)) {
                        this.uploadChange(fingerprint).error = error.message;
                        this.options.refused?.(named, error);
                    }
                    if (!isCapRefusal(error))
                        throw error;
                    refused.push(named);
                    refusal = error;
                }
            });
            if (refused.length === 0)
                return;
            // Wait, then list again, until the refused ones are there (another run uploaded them) or fit.
            for (;;) {
                if (++looks > CAP_ROUNDS)
                    throw refusal;
                const wait = retryDelayMs(looks, {});
                this.options.log(`The organization is full: ${refused.length} upload${refused.length === 1 ? ' was' : 's were'} refused; listing it again in ${seconds(wait)} s, as another run may have uploaded the same certificates or be freeing slots.`);
                await this.sleep(wait);
                const held = await this.readBack();
                pending = refused.filter((n) => !this.plan.existing.has(n.cert.fingerprint));
                if (pending.length === 0)
                    return;
                if (pending.length <= this.plan.cap - held)
                    break;
            }
        }
    }
    /**
     * Uploads one certificate. When the answer is lost (connection error, timeout, 5xx), it looks
     * (again, with backoff: listings can lag behind writes) before it tries again, and adopts the
     * copy it finds, also after the last attempt: a retry never leaves a duplicate behind.
     */
    async uploadOne(named) {
        for (let attempt = 1;; attempt++) {
            try {
                const { id } = await this.api.upload(named.cert.pem, named.name);
                // An id the organization held before this run cannot be this upload's: the read-back finds it by content.
                if (!this.known.has(id))
                    this.created.add(id);
                return id;
            }
            catch (error) {
                if (!isAmbiguous(error))
                    throw error;
                this.options.log(`Upload of '${named.name}' got no clear answer (${(0,src_errors/* messageOf */.bD)(error)}); looking whether it was stored.`);
                const stored = await this.lookFor(named);
                if (stored) {
                    this.options.log(`'${named.name}' was stored as ${stored.id} before the answer was lost; using it.`);
                    return stored.id;
                }
                if (attempt > this.options.maxRetries)
                    throw error;
                const wait = error.retryAfterMs ?? retryDelayMs(attempt, {});
                this.options.log(`'${named.name}' was not stored; upload retry ${attempt} of ${this.options.maxRetries} in ${seconds(wait)} s.`);
                await this.sleep(wait);
            }
        }
    }
    /** Looks for a stored copy of `named` up to LOOKS times, with backoff between the looks. */
    async lookFor(named) {
        for (let look = 1; look <= LOOKS; look++) {
            if (look > 1) {
                const wait = retryDelayMs(look - 1, {});
                this.options.log(`'${named.name}' is not listed yet; looking again in ${seconds(wait)} s.`);
                await this.sleep(wait);
            }
            const found = await this.findStored(named);
            if (found)
                return found;
        }
        return undefined;
    }
    /**
     * A copy of `named` stored since the inventory: only certificates that are new since then, have
     * its validity dates and are not already known are read.
     */
    async findStored(named) {
        const listed = await this.api.listAll();
        const fresh = (0,src_inventory/* candidates */.Xi)(listed, [named.cert]).filter((r) => !this.known.has(r.id) && !this.isMine(r.id));
        for (const remote of fresh.sort((a, b) => a.createdAt - b.createdAt)) {
            if ((await this.fingerprintOf(remote.id)) === named.cert.fingerprint)
                return remote;
        }
        return undefined;
    }
    isMine(id) {
        return [...this.mine.values()].some((ids) => ids.has(id));
    }
    /** The fingerprint of a certificate's content, read once; null when it is gone or unreadable. */
    async fingerprintOf(id) {
        if (this.fingerprints.has(id))
            return this.fingerprints.get(id);
        try {
            const pem = await this.api.getContent(id);
            const fingerprint = (pem === undefined ? undefined : (0,src_inventory/* fingerprintOfPem */.C_)(pem)) ?? null;
            this.fingerprints.set(id, fingerprint);
            return fingerprint;
        }
        catch (error) {
            if (error instanceof src_errors/* ApiError */.hD && error.status === 404) {
                this.fingerprints.set(id, null);
                return null;
            }
            this.options.warn(`Could not read certificate ${id} to compare it: ${(0,src_errors/* messageOf */.bD)(error)}`);
            return undefined;
        }
    }
    /**
     * Lists the organization again after writing (one list call) and makes the end state right
     * whatever other runs did meanwhile: for each certificate uploaded, the copy with the smallest
     * (created_at, id) is kept, as every racing run picks; the copies this run created that are
     * not kept and not active are deleted; the kept id is the one reported and activated. New items
     * are read only when they are not this run's own known uploads. Returns how many are held.
     */
    async readBack() {
        const listed = await this.api.listAll();
        this.readBackDone = true;
        const mineById = new Map();
        for (const [fingerprint, ids] of this.mine)
            for (const id of ids)
                if (!this.known.has(id))
                    mineById.set(id, fingerprint);
        const local = this.plan.uploads.map((n) => n.cert);
        const unknown = (0,src_inventory/* candidates */.Xi)(listed.filter((r) => !this.known.has(r.id) && !mineById.has(r.id)), local);
        await (0,pool/* mapLimit */.s)(unknown, src_inventory/* FETCH_CONCURRENCY */.JT, (r) => this.fingerprintOf(r.id));
        const copies = new Map();
        for (const r of listed) {
            const fingerprint = mineById.get(r.id) ?? this.fingerprints.get(r.id);
            if (fingerprint)
                copies.set(fingerprint, [...(copies.get(fingerprint) ?? []), r]);
        }
        const gone = new Set();
        /** Other runs' inactive copies that are not kept: the runs that created them delete them. */
        const leaving = new Set();
        const missing = [];
        for (const named of this.plan.uploads) {
            const { fingerprint } = named.cert;
            const found = copies.get(fingerprint) ?? [];
            const kept = (0,src_plan/* keptCopy */.m2)(found) ?? (await this.unlisted(named));
            const change = this.uploadChange(fingerprint);
            if (!kept) {
                // Whatever id the upload was answered with, the organization holds no such certificate.
                if (change.done)
                    missing.push(`'${named.name}' (answered as ${change.id})`);
                this.uploaded.delete(fingerprint);
                change.done = false;
                change.id = null;
                continue;
            }
            if (change.done)
                this.uploaded.set(fingerprint, kept.id);
            else {
                this.plan.existing.set(fingerprint, kept);
                change.error ??= `It is in the organization as ${kept.id}, stored by another run or by an attempt whose answer was lost.`;
            }
            if (change.id !== null && change.id !== kept.id) {
                this.options.log(listed.some((r) => r.id === change.id)
                    ? `'${named.name}' is stored more than once; ${kept.id}, stored first, is the one kept.`
                    : `The upload of '${named.name}' was answered with id ${change.id}, which the organization does not hold; it holds the certificate as ${kept.id}.`);
            }
            change.id = kept.id;
            for (const copy of found) {
                if (copy === kept)
                    continue;
                if (copy.active === true) {
                    if (this.created.has(copy.id))
                        this.options.warn(`${copy.id}, a second copy of '${named.name}' (${kept.id} is kept), is active, so it was left in place.`);
                    continue;
                }
                if (!this.created.has(copy.id))
                    leaving.add(copy.id);
                else if (await this.deleteCopy(copy, named, kept.id))
                    gone.add(copy.id);
            }
        }
        // What the organization holds once every run has deleted its own extra copies.
        const held = listed.filter((r) => !gone.has(r.id) && !leaving.has(r.id));
        this.plan.held = held.length;
        const over = (0,src_plan/* overCap */.N4)(held, this.plan.cap);
        if (over)
            throw new src_errors/* ActionError */.lZ(over);
        if (missing.length > 0) {
            throw new src_errors/* ActionError */.lZ(`The API answered ${missing.join(', ')}, but the organization holds no certificate with that content: it is reported as not uploaded. Run the action again: it uploads only what is still missing.`);
        }
        return held.length;
    }
    /** This run's own copy of `named` when the listing does not show it yet: read by id. */
    async unlisted(named) {
        for (const id of this.mine.get(named.cert.fingerprint) ?? []) {
            if ((await this.fingerprintOf(id)) === named.cert.fingerprint)
                return { id, name: named.name, createdAt: Number.MAX_SAFE_INTEGER };
        }
        return undefined;
    }
    /** Deletes a duplicate this run created, once its content shows it is one; true when it is gone. */
    async deleteCopy(copy, named, kept) {
        const { name } = named;
        if ((await this.fingerprintOf(copy.id)) !== named.cert.fingerprint)
            return false;
        try {
            await this.api.delete(copy.id);
            this.options.log(`Deleted ${copy.id}, this run's second copy of '${name}': ${kept} was stored first.`);
            return true;
        }
        catch (error) {
            this.options.warn(`Could not delete ${copy.id}, a second copy of '${name}' (${kept} is kept): ${(0,src_errors/* messageOf */.bD)(error)}`);
            return false;
        }
    }
    async writeEach(changes, write) {
        await (0,pool/* mapLimit */.s)(changes, WRITE_CONCURRENCY, async (change) => {
            await write(change);
            this.done(change);
        });
    }
    /** The id the organization keeps for a local certificate, uploaded by this run or not. */
    keptId(fingerprint) {
        return this.uploaded.get(fingerprint) ?? this.plan.existing.get(fingerprint)?.id ?? null;
    }
    scopeOf(name) {
        return this.plan.scopes.find((s) => (0,src_plan/* scopeName */.OK)(s.scope) === name)?.scope ?? { kind: 'organization' };
    }
    /** Which certificates are active in a scope, read afresh. */
    async readScope(scope) {
        const listed = scope.kind === 'project' ? await this.api.listProject(scope.id) : await this.api.listAll();
        if (scope.kind === 'organization')
            this.readBackDone = true;
        return new Map(listed.map((r) => [r.id, r.active === true]));
    }
    async activation() {
        const changes = this.changes.filter((c) => c.action === 'activate');
        for (const change of changes)
            if (change.fingerprint)
                change.id = this.keptId(change.fingerprint) ?? change.id;
        await this.setStates(changes.filter((c) => c.id !== null), true);
    }
    /**
     * Activates or deactivates, per scope, in calls of at most 10 ids, and counts a change as made
     * only when the answer's `active` flag, or a fresh read of the scope, shows it.
     */
    async setStates(changes, active) {
        const verb = active ? 'activate' : 'deactivate';
        const byScope = new Map();
        for (const change of changes)
            byScope.set(change.scope ?? '', [...(byScope.get(change.scope ?? '') ?? []), change]);
        const calls = [...byScope.values()].flatMap((inScope) => (0,src_plan/* batches */.Xy)(inScope));
        const unsure = [];
        let failure;
        await (0,pool/* mapLimit */.s)(calls, WRITE_CONCURRENCY, async (batch) => {
            if (failure !== undefined)
                return;
            const scope = this.scopeOf(batch[0].scope);
            try {
                const states = await this.api.setActive(batch.map((c) => c.id), active, scope.kind === 'project' ? scope.id : undefined);
                for (const change of batch) {
                    if (states.get(change.id) === active)
                        this.done(change);
                    else
                        unsure.push(change);
                }
            }
            catch (error) {
                failure ??= error;
                unsure.push(...batch);
            }
        });
        if (unsure.length > 0) {
            this.wrote = true;
            // The answer did not show these changed, or the call failed part way: the scope says.
            for (const name of new Set(unsure.map((c) => c.scope))) {
                let states;
                try {
                    states = await this.readScope(this.scopeOf(name));
                }
                catch (error) {
                    if (failure === undefined)
                        throw error;
                    continue;
                }
                for (const change of unsure.filter((c) => c.scope === name)) {
                    if (states.get(change.id) === active)
                        this.done(change);
                    else if (failure === undefined)
                        change.error = `The API answered the ${verb} call, but it was not applied.`;
                }
            }
        }
        if (failure !== undefined)
            throw failure;
        const notApplied = unsure.filter((c) => !c.done);
        if (notApplied.length > 0) {
            throw new src_errors/* ActionError */.lZ(`The OpenAI API answered that it would ${verb} ${notApplied.map(label).join(', ')}, but a fresh read shows ${notApplied.length === 1 ? 'it' : 'them'} still ${active ? 'inactive' : 'active'}: not counted as ${verb}d${active && this.changes.some((c) => c.action === 'deactivate') ? ', and nothing was deactivated' : ''}. Run the action again.`);
        }
    }
    /**
     * `exclusive`: deactivates only once a fresh read shows the files' certificates active in the
     * scope, and reads again after: if another run deactivated them meanwhile, they are activated
     * again, so that a scope that held an active certificate from the files never holds none.
     */
    async deactivation() {
        const changes = this.changes.filter((c) => c.action === 'deactivate');
        if (changes.length === 0)
            return;
        const files = [...new Set([...this.plan.existing.values()].map((r) => r.id).concat([...this.uploaded.values()]))];
        for (const name of new Set(changes.map((c) => c.scope))) {
            const scope = this.scopeOf(name);
            const before = await this.readScope(scope);
            const inactive = files.filter((id) => before.get(id) !== true);
            if (inactive.length > 0) {
                // The outputs say what the organization shows: an activation undone since is not counted.
                for (const change of this.changes)
                    if (change.action === 'activate' && change.scope === name && change.done && inactive.includes(change.id)) {
                        change.done = false;
                        change.error = 'It was deactivated again, by someone else, after this run activated it.';
                    }
                throw new src_errors/* ActionError */.lZ(`Nothing was deactivated in the ${name}: a fresh read shows ${inactive.join(', ')}, from the files, not active there (another run or a person may have changed it). The certificates active before stay active, so nothing is locked out; run the action again.`);
            }
            const targets = [];
            for (const change of changes.filter((c) => c.scope === name)) {
                if (before.get(change.id) === true)
                    targets.push(change);
                else
                    change.error = 'It was no longer active when this run came to deactivate it.';
            }
            await this.setStates(targets, false);
            const after = await this.readScope(scope);
            const lost = files.filter((id) => after.get(id) !== true);
            if (lost.length === 0)
                continue;
            const again = lost.map((id) => {
                const known = this.changes.find((c) => c.id === id);
                return {
                    action: 'activate',
                    id,
                    name: known?.name ?? null,
                    scope: name,
                    fingerprint: known?.fingerprint ?? null,
                    done: false
                };
            });
            this.changes.push(...again.filter((c) => !this.changes.some((d) => d.action === 'activate' && d.id === c.id && d.scope === name && d.done)));
            await this.setStates(again, true);
            throw new src_errors/* ActionError */.lZ(`Another run deactivated ${lost.join(', ')} in the ${name} while this run was rotating certificates (two runs at once): this run activated ${lost.length === 1 ? 'it' : 'them'} again, so the scope keeps an active certificate from the files. Let one run at a time publish to an organization (a concurrency group with cancel-in-progress: false), then run the action again.`);
        }
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
            return new src_errors/* ActionError */.lZ(`The organization reached its certificate cap during this run (another workflow or person may have uploaded at the same time): ${error.message} ${what}. Free slots, then run the action again.`);
        }
        if (isAmbiguous(error)) {
            return new src_errors/* ActionError */.lZ(`${error.message} ${what}. Run the action again when the API is back: it skips the certificates already in the organization, so nothing is uploaded twice.`);
        }
        if (error instanceof src_errors/* ActionError */.lZ)
            return new src_errors/* ActionError */.lZ(`${error.message} ${what}.`);
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

// EXTERNAL MODULE: ./src/check.ts
var check = __webpack_require__(5883);
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
            throw new src_errors/* ActionError */.lZ(`${where} is outside the workspace: download the plan artifact into the workspace.`);
        text = await (0,promises_.readFile)(real, 'utf8');
    }
    catch (error) {
        if (error instanceof src_errors/* ActionError */.lZ)
            throw error;
        throw new src_errors/* ActionError */.lZ(`${where} cannot be read: ${(0,src_errors/* messageOf */.bD)(error)}. Download the plan artifact of the reviewed run.`);
    }
    let parsed;
    try {
        parsed = JSON.parse(text);
    }
    catch {
        throw new src_errors/* ActionError */.lZ(`${where} is not JSON: give the file the plan run wrote (its 'plan-file' output).`);
    }
    const doc = parsed;
    if (!doc || doc.version !== 1 || !Array.isArray(doc.changes) || !Array.isArray(doc.relies_on))
        throw new src_errors/* ActionError */.lZ(`${where} is not a plan of this action: give the file the plan run wrote.`);
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
        throw new src_errors/* ActionError */.lZ(`Input 'reviewed-plan' is not the plan whose hash is 'expected-plan-hash' (${expected.slice(0, 12)}…), so nothing was changed: give the plan file and the hash of the same reviewed run.`);
    }
    if (current.hash === expected)
        return;
    throw new src_errors/* ActionError */.lZ(`The plan changed since it was reviewed (approved plan-hash ${expected.slice(0, 12)}…, now ${current.hash.slice(0, 12)}…), so nothing was changed: ${planDifference(reviewed, current.plan)}. Review the new plan and approve its hash.`);
}

// EXTERNAL MODULE: ./src/report.ts + 1 modules
var report = __webpack_require__(6594);
// EXTERNAL MODULE: ./src/verify.ts
var verify = __webpack_require__(5538);
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
            (0,src_inventory/* takeInventory */.O1)(api, certificates, (message) => runner.info(message)),
            (0,src_inventory/* projectStates */.AP)(api, lifecycle.activate ? lifecycle.projectIds : [])
        ]));
        const plan = await runner.group('Plan', async () => {
            const local = certificates.map((cert) => ({ cert, name: outcome.names.get(cert) }));
            const plan = (0,src_plan/* makePlan */.Cs)(local, inventory, now, lifecycle, projects);
            Object.assign(outcome, { plan, inventory, projects });
            outcome.changes = (0,src_plan/* planChanges */.XA)(plan);
            const refused = (0,src_plan/* capProblem */.Ys)(plan, inventory.certificates);
            if (refused)
                throw new src_errors/* ActionError */.lZ(refused);
            await reviewGate(runner, settings, outcome);
            for (const change of outcome.changes)
                runner.info(describeChange(change, settings.mode === 'plan' ? 'would' : 'will'));
            if (outcome.changes.length === 0)
                runner.info('Nothing to change: the organization already matches the files.');
            await refuseLockOut(runner, settings, outcome, { plan, inventory, projects, certificates, api, now });
            return plan;
        });
        if (settings.mode === 'plan' || outcome.changes.length === 0)
            return;
        await runner.group('Apply', () => new Applier(api, plan, outcome.changes, outcome.uploaded, {
            maxRetries: settings.maxRetries,
            inventory,
            log: (message) => runner.info(message),
            warn: (message) => runner.warning(message),
            refused: (named, error) => {
                const problem = (0,check/* refusalProblem */.Sr)(named.cert, error.message, settings.caRules);
                outcome.problems.push(problem);
                (0,report/* annotate */.fz)(runner, [problem]);
            }
        }).run());
    }
    finally {
        runner.debug(`API calls: ${api.calls.length} (${api.calls.join(', ')})`);
        api.dispose();
    }
}
/**
 * With `activate`, verifies the client certificates against the anchors the plan leaves, and
 * refuses, before anything is written, a plan that would lock a workload or the next run out.
 */
async function refuseLockOut(runner, settings, outcome, context) {
    const { plan, now } = context;
    if (plan.scopes.length === 0)
        return;
    const presented = outcome.presented ?? [];
    const organization = plan.scopes.some((s) => s.scope.kind === 'organization');
    if (presented.length === 0 && !organization)
        return;
    // The content of remote certificates is read only when there are certificates to verify.
    const fetchPem = presented.length > 0 ? (id) => context.api.getContent(id) : async () => undefined;
    const anchors = await (0,verify/* planAnchors */.qW)(plan, context.inventory, context.projects, context.certificates, fetchPem);
    const workloads = presented.filter((p) => p.source === 'workload');
    const judged = await (0,verify/* judgeWorkloads */.Sl)(workloads, anchors.after, {
        now,
        expiryWarningDays: settings.expiryWarningDays,
        where: 'in the scopes this run activates in',
        before: anchors.before
    });
    const client = presented.filter((p) => p.source === 'client-certificate');
    const [clientVerdict] = await (0,verify/* judgeWorkloads */.Sl)(client, anchors.organization?.after ?? anchors.after, {
        now,
        expiryWarningDays: settings.expiryWarningDays,
        where: 'for the organization'
    }).then((j) => j.verdicts);
    outcome.workloads = [...judged.verdicts, ...(clientVerdict ? [clientVerdict] : [])];
    outcome.problems.push(...judged.problems);
    (0,report/* annotate */.fz)(runner, judged.problems);
    const errors = judged.problems.filter((p) => p.severity === 'error').length;
    if (errors > 0)
        throw new src_errors/* ActionError */.lZ(`${errors} workload certificate${errors === 1 ? '' : 's'} would verify against no active CA after this run, so nothing was changed: see the annotations above.`);
    if (judged.problems.length > 0 && settings.failOn === 'warning')
        throw new src_errors/* ActionError */.lZ(`Workload certificates expire soon and 'fail-on: warning', so nothing was changed: reissue them, or set 'fail-on: error'.`);
    const lockOut = (0,verify/* organizationLockOut */.bk)(anchors.organization, clientVerdict);
    if (lockOut)
        throw new src_errors/* ActionError */.lZ(lockOut);
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
