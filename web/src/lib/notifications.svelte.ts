import type { Schemas } from './api'

// The bell's state, fed by the server-sent notification stream: the
// stream opens with the unread count and then pushes each notification.
export const bell = $state<{ unread: number; latest: Schemas['Notification'][]; live: boolean }>({
  unread: 0,
  latest: [],
  live: false,
})

let source: EventSource | null = null

export function connect() {
  if (source) return
  source = new EventSource('/api/v1/me/notifications/stream')
  source.addEventListener('open', () => (bell.live = true))
  source.addEventListener('error', () => (bell.live = false))
  source.addEventListener('unread', (e) => {
    bell.unread = (JSON.parse((e as MessageEvent).data) as Schemas['UnreadCount']).unread
  })
  source.addEventListener('notification', (e) => {
    const n = JSON.parse((e as MessageEvent).data) as Schemas['Notification']
    if (!bell.latest.some((x) => x.id === n.id)) bell.latest = [n, ...bell.latest].slice(0, 8)
  })
}

// A page the browser keeps in its back/forward cache keeps its
// connections, and a browser allows six per host: after a few full-page
// loads in a row the cached pages' streams held them all and the console's
// next requests waited for one. The stream is closed when the page is
// hidden and opened again if the page comes back from the cache.
let resume = false
addEventListener('pagehide', () => {
  resume = source !== null
  source?.close()
  source = null
})
addEventListener('pageshow', (e) => {
  if (e.persisted && resume) connect()
})

export function disconnect() {
  source?.close()
  source = null
  bell.live = false
  bell.latest = []
  bell.unread = 0
}
