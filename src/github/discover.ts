import { readFile, realpath, stat } from 'node:fs/promises'
import * as path from 'node:path'
import * as glob from '@actions/glob'
import { ActionError, messageOf } from '../shared/errors.js'
import { mapLimit } from '../shared/pool.js'
import { type ParsedFile, parseFile } from '../certificates/files.js'

/** What a file-system error code means, for people. */
const FS_CODES: Record<string, string> = {
  ELOOP: 'is a symbolic link that loops',
  ENOTDIR: 'goes through a file as if it were a folder',
  EACCES: 'cannot be read (permission denied)',
  EPERM: 'cannot be read (operation not permitted)',
  ENAMETOOLONG: 'has a name too long',
  ENOENT: 'does not exist (a broken symbolic link?)',
  EISDIR: 'is a folder, not a file',
  EINVAL: 'cannot be resolved'
}

/**
 * A file-system error met while finding or reading files, as one line naming the path relative to
 * the workspace (never the absolute path, which may be outside it); anything else is rethrown.
 */
export function fsError(error: unknown, workspace: string, file?: string): unknown {
  const { code, path: at } = (error ?? {}) as { code?: unknown; path?: unknown }
  if (typeof code !== 'string' || !(code in FS_CODES)) return error
  const where =
    file ?? (typeof at === 'string' ? printable(path.relative(workspace, at).split(path.sep).join('/')) : 'a file')
  return new ActionError(`${where} ${FS_CODES[code]} (${code}): fix or remove it, or exclude it with a '!' pattern.`)
}

/**
 * A file name as it may be shown: control characters (a newline, which git allows in names) written
 * as escapes, so that a name can never start a new log line or forge a workflow command.
 */
export function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f\u0085\u2028\u2029]/g, (c) =>
    c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
  )
}

/** A matched file: its absolute path, and its path relative to the workspace for people. */
export interface FoundFile {
  path: string
  file: string
}

/**
 * Makes relative patterns relative to the workspace rather than to the process's directory.
 * `paths` is the platform's path module (tests pass `path.win32` to check Windows runners here).
 */
export function anchorPatterns(
  patterns: readonly string[],
  workspace: string,
  paths: path.PlatformPath = path
): string {
  return patterns
    .map((pattern) => {
      const negated = pattern.startsWith('!')
      const body = negated ? pattern.slice(1) : pattern
      const anchored = paths.isAbsolute(body) ? body : paths.join(workspace, body)
      return `${negated ? '!' : ''}${anchored}`
    })
    .join('\n')
}

/**
 * Refuses, before any folder is walked, a pattern whose fixed part (the path up to its first glob
 * character) leads outside the workspace (`../../etc/*`, an absolute path elsewhere): the walk would
 * otherwise read, and its errors name, files outside the repository. Excludes (`!`) may point anywhere.
 */
export function refuseLeavingPatterns(
  patterns: readonly string[],
  workspace: string,
  paths: path.PlatformPath = path,
  input = 'files'
): void {
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) continue
    const anchored = paths.isAbsolute(pattern) ? pattern : paths.join(workspace, pattern)
    const fixed = anchored.split(/[*?[{]/)[0]
    const relative = paths.relative(workspace, paths.normalize(fixed))
    if (relative === '..' || relative.startsWith(`..${paths.sep}`) || paths.isAbsolute(relative))
      throw new ActionError(
        `Input '${input}' has the pattern '${printable(pattern)}', which leads outside the workspace: give patterns relative to the repository's root, e.g. certs/*.pem.`
      )
  }
}

/**
 * The pattern that matches the file `name` (relative to the workspace) and nothing else: glob
 * characters escaped, and a leading `!` or `#` kept from meaning an exclude or a comment. For
 * file names given as names (the command line's `--literal`, which the pre-commit hook uses).
 */
export function literalPattern(name: string, windows = process.platform === 'win32'): string {
  const escaped = (windows ? name : name.replace(/\\/g, '\\\\')).replace(/[[*?]/g, (c) => `[${c}]`)
  return /^[!#\s]/.test(escaped) ? `./${escaped}` : escaped
}

/**
 * Sorted, workspace-relative, forward slashes (on Windows too: annotations and outputs want them):
 * the order everything is reported in. `paths` as for `anchorPatterns`.
 */
export function relativeFiles(
  matches: readonly string[],
  workspace: string,
  paths: path.PlatformPath = path,
  input = 'files'
): FoundFile[] {
  const files = matches.map((match) => ({
    path: match,
    file: printable(paths.relative(workspace, match).split(paths.sep).join('/'))
  }))
  const outside = files.filter((f) => f.file.startsWith('../') || paths.isAbsolute(f.file))
  if (outside.length > 0) {
    throw new ActionError(
      `Input '${input}' matched ${outside.length} file${outside.length > 1 ? 's' : ''} outside the workspace (${outside[0].path}): keep certificates inside the repository.`
    )
  }
  return files.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))
}

/**
 * Finds the files the patterns of `input` match (files only; a matched directory stands for its
 * files).
 */
export async function discover(patterns: readonly string[], workspace: string, input = 'files'): Promise<FoundFile[]> {
  refuseLeavingPatterns(patterns, workspace, path, input)
  const globber = await glob.create(anchorPatterns(patterns, workspace), {
    matchDirectories: false,
    implicitDescendants: true,
    omitBrokenSymbolicLinks: false
  })
  let matches: string[]
  try {
    matches = await globber.glob()
  } catch (error) {
    const broken = /No information found for the path '(.*)'/.exec(messageOf(error))
    if (!broken) throw fsError(error, workspace)
    const file = printable(path.relative(workspace, broken[1]).split(path.sep).join('/'))
    throw new ActionError(`${file} is a broken symbolic link: fix or remove it, or exclude it with a '!' pattern.`)
  }
  return resolveInside(relativeFiles([...new Set(matches)], workspace, path, input), workspace)
}

/**
 * Each file with `path` set to its real path (every symbolic link on the way followed), so that it
 * is read from there; refused when that real path is outside the workspace's real path: a
 * committed link to a file or folder outside must not get that file read and uploaded.
 */
export async function resolveInside(files: readonly FoundFile[], workspace: string): Promise<FoundFile[]> {
  if (files.length === 0) return []
  const root = await realpath(workspace)
  const resolved = await mapLimit(files, 16, async (found) => {
    try {
      return { ...found, path: await realpath(found.path) }
    } catch (error) {
      const mapped = fsError(error, workspace, found.file)
      throw mapped instanceof ActionError
        ? mapped
        : new ActionError(`${found.file} cannot be resolved: fix or remove it, or exclude it with a '!' pattern.`)
    }
  })
  const outside = resolved.filter((f) => {
    const relative = path.relative(root, f.path)
    return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)
  })
  if (outside.length > 0) {
    // Named by the link that leads out, never by where it leads or what is there: a fork's pull
    // request must not learn the runner's files from the error.
    const link = await leavingLink(files.find((f) => f.file === outside[0].file) ?? outside[0], workspace, root)
    throw new ActionError(
      `${link} is a symbolic link that leads outside the workspace: a symbolic link may not lead out of the repository. Keep certificates inside it, or exclude the link with a '!' pattern.`
    )
  }
  return resolved
}

/**
 * The first step of `found`'s workspace-relative path whose real path is outside `root` (the link
 * that leads out), as a workspace-relative path.
 */
async function leavingLink(found: FoundFile, workspace: string, root: string): Promise<string> {
  const steps = path.relative(workspace, found.path).split(path.sep)
  for (let n = 1; n <= steps.length; n++) {
    const real = await realpath(path.join(workspace, ...steps.slice(0, n))).catch(() => undefined)
    const relative = real === undefined ? '' : path.relative(root, real)
    if (relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)) {
      return printable(steps.slice(0, n).join('/'))
    }
  }
  return found.file
}

/** Larger files are refused unread: a CA bundle is a few kilobytes, OpenAI takes under 16 KB each. */
export const MAX_FILE_BYTES = 1024 * 1024

/** Reads and parses every file, refusing ones too large to be certificates without reading them. */
export async function readFiles(files: readonly FoundFile[]): Promise<ParsedFile[]> {
  return mapLimit(files, 16, async ({ path: absolute, file }) => {
    try {
      return await readOne(absolute, file)
    } catch (error) {
      throw fsError(error, '', file)
    }
  })
}

async function readOne(absolute: string, file: string): Promise<ParsedFile> {
  const refuse = (check: string, message: string): ParsedFile => ({
    file,
    certificates: [],
    rejected: [],
    problems: [{ check, severity: 'error', message, file, line: 1 }],
    blocks: 0
  })
  const stats = await stat(absolute)
  // A named pipe or a device would be read forever (a FIFO never ends until a writer closes it).
  if (!stats.isFile())
    return refuse(
      'not-a-file',
      "This is not a regular file (a named pipe, socket or device): exclude it with a '!' pattern."
    )
  if (stats.size > MAX_FILE_BYTES)
    return refuse(
      'file-too-large',
      `The file is ${(stats.size / 1024 / 1024).toFixed(1)} MiB; a certificate file may be at most 1 MiB: check the pattern that matched it.`
    )
  return parseFile(file, await readFile(absolute))
}
