export const id = 255;
export const ids = [255];
export const modules = {

/***/ 4255:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   C_: () => (/* binding */ fingerprintOfPem),
/* harmony export */   Xi: () => (/* binding */ candidates),
/* harmony export */   projectStates: () => (/* binding */ projectStates),
/* harmony export */   takeInventory: () => (/* binding */ takeInventory)
/* harmony export */ });
/* unused harmony export FETCH_CONCURRENCY */
/* harmony import */ var _parse_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(2828);
/* harmony import */ var _pool_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(9537);


/** Which certificates are active in each of `projectIds`, from the project listings. */
async function projectStates(api, projectIds) {
    const listings = await Promise.all(projectIds.map((id) => api.listProject(id)));
    return new Map(projectIds.map((id, i) => [id, new Set(listings[i].filter((r) => r.active === true).map((r) => r.id))]));
}
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
    let fetched = 0;
    const contents = await (0,_pool_js__WEBPACK_IMPORTED_MODULE_1__/* .mapLimit */ .s)(toFetch, FETCH_CONCURRENCY, async (remote) => {
        const content = await api.getContent(remote.id);
        // A progress line per round of reads, for organizations with many look-alikes.
        if (++fetched % FETCH_CONCURRENCY === 0 || (fetched === toFetch.length && toFetch.length > FETCH_CONCURRENCY)) {
            log(`Fetched ${fetched}/${toFetch.length} certificates.`);
        }
        return content;
    });
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
