export const id = 931;
export const ids = [931];
export const modules = {

/***/ 8931:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   applyUploads: () => (/* binding */ applyUploads)
/* harmony export */ });
/* unused harmony export UPLOAD_CONCURRENCY */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3916);
/* harmony import */ var _pool_js__WEBPACK_IMPORTED_MODULE_1__ = __webpack_require__(9537);


/** How many uploads are under way at once. */
const UPLOAD_CONCURRENCY = 4;
/**
 * Uploads each certificate as its own PEM under its name. `uploaded` (fingerprint → new id) is
 * filled as answers come, so that a run that fails part way can still report what it created.
 */
async function applyUploads(api, uploads, uploaded, log) {
    try {
        await (0,_pool_js__WEBPACK_IMPORTED_MODULE_1__/* .mapLimit */ .s)(uploads, UPLOAD_CONCURRENCY, async ({ cert, name }) => {
            const created = await api.upload(cert.pem, name);
            uploaded.set(cert.fingerprint, created.id);
            log(`Uploaded '${name}' (${cert.file}, certificate ${cert.index}) as ${created.id}.`);
        });
    }
    catch (error) {
        const done = `${uploaded.size} of ${uploads.length} new certificate${uploads.length === 1 ? ' was' : 's were'} uploaded before it`;
        if (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ApiError */ .hD && (error.status === undefined || error.status >= 500)) {
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ActionError */ .lZ(`${error.message} ${done}; the failed upload may or may not have been stored. Run the action again: it skips certificates already in the organization, so nothing is uploaded twice.`);
        }
        if (error instanceof _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ActionError */ .lZ)
            throw new _errors_js__WEBPACK_IMPORTED_MODULE_0__/* .ActionError */ .lZ(`${error.message} ${done}.`);
        throw error;
    }
}


/***/ })

};
