import { asProblem, type Problem } from './api'

type Result<T> = { data?: T; error?: unknown; response: Response }

// Form tracks one form's submission: busy while the call runs, the API's
// field errors (problem+json `errors`) by field, and the rest as a message.
export class Form {
  busy = $state(false)
  message = $state('')
  // code is the last refusal's problem code ('' after a success).
  code = $state('')
  fields = $state<Record<string, string>>({})

  // key is the Idempotency-Key of the next submission: a retry after a
  // network failure (outcome unknown) reuses it, so the platform replays
  // rather than repeats; any answer from the platform ends it, so a
  // corrected resubmission is a new request, not a replay of the refusal.
  key = crypto.randomUUID()

  async submit<T>(call: () => Promise<Result<T>>): Promise<T | undefined> {
    this.busy = true
    this.message = ''
    this.code = ''
    this.fields = {}
    try {
      const res = await call()
      this.key = crypto.randomUUID()
      if (res.error !== undefined || !res.response.ok) {
        this.fail(asProblem(res.error, res.response.status))
        return undefined
      }
      return (res.data ?? ({} as T)) as T
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
