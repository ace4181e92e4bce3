// Runs in every test file: nothing a test makes in the temporary folder outlives its file.
import { removeWorkspaces } from './helpers.js'

afterAll(removeWorkspaces)
