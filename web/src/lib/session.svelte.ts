import { api, type Schemas } from './api'

type Me = {
  user: Schemas['User']
  accounts: Schemas['Account'][]
}

// session is who is logged in (from GET /api/v1/me) and the account the
// customer pages act on.
export const session = $state<{ me: Me | null; loaded: boolean; account: string }>({
  me: null,
  loaded: false,
  account: '',
})

export async function loadMe() {
  const { data } = await api.GET('/api/v1/me')
  session.me = data ? { user: data.user, accounts: data.accounts } : null
  session.account = data?.accounts[0]?.id ?? ''
  session.loaded = true
}

export function forget() {
  session.me = null
  session.account = ''
}

export function isStaff(): boolean {
  return !!session.me?.user.staff_role
}
