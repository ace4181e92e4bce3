export const id = 246;
export const ids = [246];
export const modules = {

/***/ 2246:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {

/* harmony export */ __webpack_require__.d(__webpack_exports__, {
/* harmony export */   commentOnPullRequest: () => (/* binding */ commentOnPullRequest)
/* harmony export */ });
/* unused harmony exports COMMENT_MARKER, commentMarker, commentBody */
/* harmony import */ var _errors_js__WEBPACK_IMPORTED_MODULE_0__ = __webpack_require__(3916);

/** Finds the action's own comment among a pull request's comments. */
const COMMENT_MARKER = '<!-- openai-certificates-action -->';
/** The marker of a labelled run's comment: one comment per label, so matrix legs keep their own. */
function commentMarker(label = '') {
    return label ? `<!-- openai-certificates-action label=${encodeURIComponent(label)} -->` : COMMENT_MARKER;
}
/** GitHub refuses comments longer than this. */
const COMMENT_LIMIT = 65_536;
/** The comment's text: the marker, then the report, cut to what GitHub accepts. */
function commentBody(report, label = '') {
    const marker = commentMarker(label);
    const room = COMMENT_LIMIT - marker.length - 200;
    const text = report.length > room
        ? `${report.slice(0, room).replace(/\n[^\n]*$/, '')}\n\n… cut here: the job summary has the whole report.`
        : report;
    return `${marker}\n${text}`;
}
/**
 * Keeps one sticky comment on the pull request: the previous one (found by its hidden marker) is
 * updated in place, so comments do not pile up. With nothing to say and no earlier comment, it
 * writes none. A refusal (a fork's read-only token) is a warning, never a failed run.
 */
async function commentOnPullRequest(options) {
    // Loaded only on this path: validate and publish runs without comments never load Octokit.
    const github = await Promise.all(/* import() */[__webpack_require__.e(752), __webpack_require__.e(413)]).then(__webpack_require__.bind(__webpack_require__, 2413));
    const { context } = github;
    const number = context.payload.pull_request?.number;
    // Outside a workflow (GITHUB_EVENT_NAME unset) the event name is undefined.
    const event = context.eventName ?? '';
    if (!event.startsWith('pull_request') || typeof number !== 'number') {
        options.log(`comment-on-pr: not a pull_request event (${event || 'none'}); no comment.`);
        return;
    }
    if (!options.token) {
        options.warn("comment-on-pr needs 'github-token' (with pull-requests: write); no comment was written.");
        return;
    }
    try {
        const octokit = github.getOctokit(options.token);
        const { owner, repo } = context.repo;
        const comments = await octokit.paginate(octokit.rest.issues.listComments, {
            owner,
            repo,
            issue_number: number,
            per_page: 100
        });
        const marker = commentMarker(options.label);
        const previous = comments.find((c) => c.body?.includes(marker));
        if (!previous && !options.worthSaying && !options.always) {
            options.log('comment-on-pr: nothing to report; no comment.');
            return;
        }
        const body = commentBody(options.body, options.label);
        if (previous) {
            await octokit.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body });
            options.log(`Updated the report comment on pull request #${number}.`);
        }
        else {
            await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body });
            options.log(`Commented the report on pull request #${number}.`);
        }
    }
    catch (error) {
        options.warn(`Could not comment on pull request #${number}: ${(0,_errors_js__WEBPACK_IMPORTED_MODULE_0__/* .messageOf */ .bD)(error)}. The job summary has the report; give the workflow 'pull-requests: write' for comments.`);
    }
}


/***/ })

};
