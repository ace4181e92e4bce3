import { messageOf } from '../shared/errors.js'

/** Finds the action's own comment among a pull request's comments. */
export const COMMENT_MARKER = '<!-- openai-certificates-action -->'

/** The marker of a labelled run's comment: one comment per label, so matrix legs keep their own. */
export function commentMarker(label = ''): string {
  return label ? `<!-- openai-certificates-action label=${encodeURIComponent(label)} -->` : COMMENT_MARKER
}
/** GitHub refuses comments longer than this. */
const COMMENT_LIMIT = 65_536

export interface CommentOptions {
  token: string
  /** The report, as Markdown (the job summary). */
  body: string
  /** Whether the report has anything to say (problems, changes, a failure). */
  worthSaying: boolean
  /** `always`: comment even when there is nothing to say. */
  always: boolean
  /** The `label` input: which of several runs on the pull request this comment belongs to. */
  label?: string
  log: (message: string) => void
  warn: (message: string) => void
}

/** The comment's text: the marker, then the report, cut to what GitHub accepts. */
export function commentBody(report: string, label = ''): string {
  const marker = commentMarker(label)
  const room = COMMENT_LIMIT - marker.length - 200
  const text =
    report.length > room
      ? `${report.slice(0, room).replace(/\n[^\n]*$/, '')}\n\n… cut here: the job summary has the whole report.`
      : report
  return `${marker}\n${text}`
}

/**
 * Keeps one sticky comment on the pull request: the previous one (found by its hidden marker) is
 * updated in place, so comments do not pile up. With nothing to say and no earlier comment, it
 * writes none. A refusal (a fork's read-only token) is a warning, never a failed run.
 */
export async function commentOnPullRequest(options: CommentOptions): Promise<void> {
  // Loaded only on this path: validate and publish runs without comments never load Octokit.
  const github = await import('@actions/github')
  const { context } = github
  const number = context.payload.pull_request?.number
  // Outside a workflow (GITHUB_EVENT_NAME unset) the event name is undefined.
  const event: string = context.eventName ?? ''
  if (!event.startsWith('pull_request') || typeof number !== 'number') {
    options.log(`comment-on-pr: not a pull_request event (${event || 'none'}); no comment.`)
    return
  }
  if (!options.token) {
    options.warn("comment-on-pr needs 'github-token' (with pull-requests: write); no comment was written.")
    return
  }
  try {
    const octokit = github.getOctokit(options.token)
    const { owner, repo } = context.repo
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: number,
      per_page: 100
    })
    const marker = commentMarker(options.label)
    const previous = comments.find((c) => c.body?.includes(marker))
    if (!previous && !options.worthSaying && !options.always) {
      options.log('comment-on-pr: nothing to report; no comment.')
      return
    }
    const body = commentBody(options.body, options.label)
    if (previous) {
      await octokit.rest.issues.updateComment({ owner, repo, comment_id: previous.id, body })
      options.log(`Updated the report comment on pull request #${number}.`)
    } else {
      await octokit.rest.issues.createComment({ owner, repo, issue_number: number, body })
      options.log(`Commented the report on pull request #${number}.`)
    }
  } catch (error) {
    options.warn(
      `Could not comment on pull request #${number}: ${messageOf(error)}. The job summary has the report; give the workflow 'pull-requests: write' for comments.`
    )
  }
}
