// Compliance documents: uploaded first (the raw file as the body, streamed
// to the blob store, content-addressed), then named by SHA-256 in a record.
import { api, asProblem, type Schemas } from '../../lib/api'
import { unwrap } from '../../lib/form.svelte'

export type FileRef = Schemas['ComplianceFileRef']

// upload sends the file and returns its reference; a refusal (too large)
// is thrown as a problem whose field is `field` (the form's file input).
export async function upload(file: File, field: string): Promise<FileRef> {
  try {
    const out = await unwrap(
      api.POST('/api/v1/admin/compliance/files', {
        body: file as unknown as string,
        bodySerializer: (b: unknown) => b as BodyInit,
        headers: { 'Content-Type': 'application/octet-stream' },
      }),
    )
    return { sha256: out.sha256, name: file.name }
  } catch (e) {
    const p = asProblem(e)
    throw { ...p, errors: (p.errors ?? []).map((fe) => ({ ...fe, field: fe.field === 'file' ? field : fe.field })) }
  }
}

// fileURL downloads a stored file under its name (the session cookie
// authenticates the GET).
export function fileURL(sha256: string, name: string): string {
  return `/api/v1/admin/compliance/files/${sha256}?name=${encodeURIComponent(name)}`
}

export function size(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / (1 << 20)).toFixed(1)} MiB`
}

// staffNames maps staff user ids to their emails, for showing owners,
// uploaders and approvers (one call: the staff users).
export async function staffNames(): Promise<{ id: string; email: string; role: string }[]> {
  const page = await unwrap(api.GET('/api/v1/admin/users', { params: { query: { staff: 'true', limit: 100 } } }))
  return page.data.map((u) => ({ id: u.id, email: u.email, role: u.staff_role ?? '' }))
}
