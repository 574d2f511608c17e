import { asProblem, type Problem, type Schemas } from './api'
import { heldApproval } from './held.svelte'

type Result<T> = { data?: T; error?: unknown; response: Response }

// Form tracks one form's submission: busy while the call runs, the API's
// field errors (problem+json `errors`) by field, and the rest as a message.
export class Form {
  busy = $state(false)
  message = $state('')
  // code is the last refusal's problem code ('' after a success).
  code = $state('')
  fields = $state<Record<string, string>>({})
  // problem is the last refusal in full (a rule's line, column and snippet).
  problem = $state<Problem | null>(null)

  // key is the Idempotency-Key of the next submission: a retry after a
  // network failure (outcome unknown) reuses it, so the platform replays
  // rather than repeats; any answer from the platform ends it, so a
  // corrected resubmission is a new request, not a replay of the refusal.
  key = crypto.randomUUID()

  // A high-risk staff action may answer 202 with the approval that holds it
  // instead of its own result: submit reports that (held.svelte.ts) and
  // returns undefined, so callers only ever see the action's result.
  async submit<T>(call: () => Promise<Result<T>>): Promise<Exclude<T, Schemas['Approval']> | undefined> {
    this.busy = true
    this.message = ''
    this.code = ''
    this.fields = {}
    this.problem = null
    try {
      const res = await call()
      this.key = crypto.randomUUID()
      if (res.error !== undefined || !res.response.ok) {
        this.fail(asProblem(res.error, res.response.status))
        return undefined
      }
      // Held for approval: nothing happened yet (the staff shell says so).
      if (heldApproval(res.response.status, res.data)) return undefined
      return (res.data ?? ({} as T)) as Exclude<T, Schemas['Approval']>
    } catch (e) {
      this.fail(asProblem(e))
      return undefined
    } finally {
      this.busy = false
    }
  }

  fail(p: Problem) {
    const fields: Record<string, string> = {}
    for (const fe of p.errors ?? []) fields[fe.field] = fe.message
    this.fields = fields
    this.problem = p
    this.code = p.code
    this.message = p.detail || (p.errors?.length ? 'Please correct the fields marked below.' : p.code)
  }
}

// load runs a view's calls (at most three: the console's budget per view)
// and keeps their outcome.
export class Loader<T> {
  data = $state<T | undefined>(undefined)
  error = $state('')
  loading = $state(true)

  constructor(private fetcher: () => Promise<T>) {}

  async run() {
    this.loading = true
    this.error = ''
    try {
      this.data = await this.fetcher()
    } catch (e) {
      this.error = asProblem(e).detail ?? 'Loading failed.'
    } finally {
      this.loading = false
    }
  }
}

// unwrap turns an openapi-fetch result into its data or a thrown problem.
export async function unwrap<T>(p: Promise<Result<T>>): Promise<T> {
  const res = await p
  if (res.error !== undefined || !res.response.ok) throw asProblem(res.error, res.response.status)
  return res.data as T
}
