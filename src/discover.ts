import { readFile, realpath, stat } from 'node:fs/promises'
import * as path from 'node:path'
import * as glob from '@actions/glob'
import { ActionError, messageOf } from './errors.js'
import { mapLimit } from './pool.js'
import { type ParsedFile, type Problem, parseFile } from './parse.js'

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
    file: paths.relative(workspace, match).split(paths.sep).join('/')
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
    if (!broken) throw error
    const file = path.relative(workspace, broken[1]).split(path.sep).join('/')
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
      throw new ActionError(
        `${found.file} cannot be resolved (${messageOf(error)}): fix or remove it, or exclude it with a '!' pattern.`
      )
    }
  })
  const outside = resolved.filter((f) => {
    const relative = path.relative(root, f.path)
    return relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative)
  })
  if (outside.length > 0) {
    const more = outside.length > 1 ? ` (and ${outside.length - 1} more)` : ''
    throw new ActionError(
      `${outside[0].file} resolves to ${outside[0].path}, outside the workspace${more}: a symbolic link may not lead out of the repository. Keep certificates inside it, or exclude the link with a '!' pattern.`
    )
  }
  return resolved
}

/** Larger files are refused unread: a CA bundle is a few kilobytes, OpenAI takes under 16 KB each. */
export const MAX_FILE_BYTES = 1024 * 1024

/** Reads and parses every file, refusing ones too large to be certificates without reading them. */
export async function readFiles(files: readonly FoundFile[]): Promise<ParsedFile[]> {
  return mapLimit(files, 16, async ({ path: absolute, file }) => {
    const { size } = await stat(absolute)
    if (size > MAX_FILE_BYTES) {
      const problem: Problem = {
        check: 'file-too-large',
        severity: 'error',
        message: `The file is ${(size / 1024 / 1024).toFixed(1)} MiB; a certificate file may be at most 1 MiB: check the pattern that matched it.`,
        file,
        line: 1
      }
      return { file, certificates: [], rejected: [], problems: [problem], blocks: 0 }
    }
    return parseFile(file, await readFile(absolute))
  })
}
