// A staff action that a high-risk policy held for a second staff member's
// approval answers 202 with the approval: it did not happen yet. The
// console says so on the page the action was sent from, with a link to the
// approval (HeldNotice.svelte in the staff shell).
export const held = $state({ id: '', summary: '', policy: '', path: '' })

// heldApproval reports whether an answer is a held request's approval, and
// records it for the notice.
export function heldApproval(status: number, data: unknown): boolean {
  if (status !== 202 || !data || typeof data !== 'object') return false
  const a = data as { id?: unknown; state?: unknown; policy_id?: unknown; summary?: unknown; policy_name?: unknown }
  if (typeof a.id !== 'string' || a.state !== 'pending' || typeof a.policy_id !== 'string') return false
  held.id = a.id
  held.summary = String(a.summary ?? '')
  held.policy = String(a.policy_name ?? '')
  held.path = location.pathname
  return true
}

export function clearHeld() {
  held.id = held.summary = held.policy = held.path = ''
}
