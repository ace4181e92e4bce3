// Windows runners give the action backslash paths with drive letters (GITHUB_WORKSPACE is
// D:\a\repo\repo, @actions/glob returns backslashes). Discovery must anchor patterns and report
// files the same way there as on Linux: workspace-relative, forward slashes, in the same order, and
// annotations must name those files. path.win32 runs the Windows rules here; e2e.yml runs the
// action itself on a Windows runner.
import * as path from 'node:path'
import { makeCa, privateKeyPem } from '../tools/certs.mjs'
import { anchorPatterns, relativeFiles } from '../src/github/discover.js'
import { ActionError } from '../src/shared/errors.js'
import { parseFile } from '../src/certificates/files.js'
import type { Problem } from '../src/certificates/problem.js'
import { annotate } from '../src/github/report.js'
import type { Place, Runner } from '../src/github/runner.js'

const workspace = 'D:\\a\\repo\\repo'

describe('anchorPatterns on Windows', () => {
  it('anchors backslash and slash patterns to the workspace, keeps absolute ones and negations', () => {
    const patterns = ['certs\\*.pem', 'certs/**/*.crt', '!certs\\old\\*.pem', 'C:\\shared\\ca.pem', '!C:/shared/x.pem']
    expect(anchorPatterns(patterns, workspace, path.win32).split('\n')).toEqual([
      'D:\\a\\repo\\repo\\certs\\*.pem',
      'D:\\a\\repo\\repo\\certs\\**\\*.crt',
      '!D:\\a\\repo\\repo\\certs\\old\\*.pem',
      'C:\\shared\\ca.pem',
      '!C:/shared/x.pem'
    ])
  })

  it('does the same on Linux with slashes', () => {
    expect(anchorPatterns(['certs/*.pem', '!/etc/ssl/x.pem'], '/home/runner/work/repo/repo', path.posix)).toBe(
      '/home/runner/work/repo/repo/certs/*.pem\n!/etc/ssl/x.pem'
    )
  })
})

describe('relativeFiles on Windows', () => {
  it('reports workspace-relative paths with forward slashes, sorted as on Linux', () => {
    const matches = [
      'D:\\a\\repo\\repo\\certs\\sub\\b.pem',
      'D:\\a\\repo\\repo\\certs\\a.pem',
      'D:\\a\\repo\\repo\\Root.pem',
      'd:\\a\\repo\\repo\\certs\\lower-drive.pem'
    ]
    expect(relativeFiles(matches, workspace, path.win32)).toEqual([
      { path: 'D:\\a\\repo\\repo\\Root.pem', file: 'Root.pem' },
      { path: 'D:\\a\\repo\\repo\\certs\\a.pem', file: 'certs/a.pem' },
      { path: 'd:\\a\\repo\\repo\\certs\\lower-drive.pem', file: 'certs/lower-drive.pem' },
      { path: 'D:\\a\\repo\\repo\\certs\\sub\\b.pem', file: 'certs/sub/b.pem' }
    ])
    // The same files under Linux paths come out identical.
    const linux = relativeFiles(
      ['/w/repo/certs/sub/b.pem', '/w/repo/certs/a.pem', '/w/repo/Root.pem'],
      '/w/repo',
      path.posix
    )
    expect(linux.map((f) => f.file)).toEqual(['Root.pem', 'certs/a.pem', 'certs/sub/b.pem'])
  })

  it('accepts a workspace written with forward slashes', () => {
    expect(relativeFiles(['D:\\a\\repo\\repo\\certs\\a.pem'], 'D:/a/repo/repo', path.win32)).toEqual([
      { path: 'D:\\a\\repo\\repo\\certs\\a.pem', file: 'certs/a.pem' }
    ])
  })

  it('refuses files outside the workspace: a sibling folder, another drive', () => {
    for (const outside of ['D:\\a\\repo\\other\\ca.pem', 'C:\\shared\\ca.pem', '\\\\server\\share\\ca.pem']) {
      const run = () => relativeFiles(['D:\\a\\repo\\repo\\certs\\a.pem', outside], workspace, path.win32)
      expect(run).toThrow(ActionError)
      expect(run).toThrow(`matched 1 file outside the workspace (${outside})`)
    }
  })
})

describe('annotations for files found on Windows', () => {
  it('name the workspace-relative file with forward slashes and the line of the block', async () => {
    const ca = await makeCa({ cn: 'Windows CA' })
    const [found] = relativeFiles(['D:\\a\\repo\\repo\\certs\\sub\\bundle.pem'], workspace, path.win32)
    const text = `${ca.pem}${await privateKeyPem(ca.keys)}`.replace(/\n/g, '\r\n')
    const parsed = parseFile(found.file, Buffer.from(text))
    const annotations: { message: string; place?: Place }[] = []
    const runner = {
      error: (message: string, place?: Place) => annotations.push({ message, place }),
      warning: (message: string, place?: Place) => annotations.push({ message, place }),
      info: () => undefined
    } as unknown as Runner
    annotate(runner, parsed.problems as Problem[])
    const keyLine = ca.pem.split('\n').length // the key's BEGIN line follows the certificate
    expect(annotations).toEqual([
      { message: expect.stringMatching(/private key/i), place: { file: 'certs/sub/bundle.pem', startLine: keyLine } }
    ])
  })
})
