import { asProblem } from './api'

type Page<T> = { data: T[]; next_cursor?: string }

// Pager is one list view's rows: a single API call with the filters in its
// query string, then "Show more" by cursor. reload() starts over (new
// filters); more() appends the next page.
export class Pager<T> {
  rows = $state<T[]>([])
  next = $state('')
  loading = $state(true)
  error = $state('')
  // fields holds the API's field errors for the filters (problem+json
  // `errors`), shown next to the filter they name.
  fields = $state<Record<string, string>>({})

  constructor(private fetcher: (cursor: string) => Promise<Page<T>>) {}

  async reload() {
    await this.load('')
  }

  async more() {
    if (this.next) await this.load(this.next)
  }

  // replace puts an updated row (an action's answer) in place.
  replace(match: (r: T) => boolean, row: T) {
    this.rows = this.rows.map((r) => (match(r) ? row : r))
  }

  private async load(cursor: string) {
    this.loading = true
    this.error = ''
    this.fields = {}
    try {
      const page = await this.fetcher(cursor)
      this.rows = cursor ? [...this.rows, ...page.data] : page.data
      this.next = page.next_cursor ?? ''
    } catch (e) {
      const p = asProblem(e)
      for (const fe of p.errors ?? []) this.fields[fe.field] = fe.message
      this.error = p.detail || (p.errors?.length ? 'Please correct the filters marked above.' : p.code)
    } finally {
      this.loading = false
    }
  }
}

// keepInURL writes a view's filters into the address (replacing the entry),
// so a reload or a shared link shows the same list.
export function keepInURL(filters: Record<string, string>) {
  const u = new URL(location.href)
  for (const [k, v] of Object.entries(filters)) {
    if (v) u.searchParams.set(k, v)
    else u.searchParams.delete(k)
  }
  history.replaceState(null, '', u)
}

// fromURL reads one filter from the address.
export function fromURL(name: string): string {
  return new URLSearchParams(location.search).get(name) ?? ''
}

// staffRank orders the staff roles; a page or action needing a role is shown
// to members at or above it (the API still decides).
const ranks: Record<string, number> = { support: 1, admin: 2, owner: 3 }
export function reaches(role: string | null | undefined, least: string): boolean {
  return (ranks[role ?? ''] ?? 0) >= ranks[least]
}
