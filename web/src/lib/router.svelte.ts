// A small history router: the server answers every console path with
// index.html, so deep links survive a reload.
export const route = $state({ path: location.pathname, search: location.search })

function sync() {
  route.path = location.pathname
  route.search = location.search
}

export function navigate(to: string, replace = false) {
  if (replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  sync()
  window.scrollTo(0, 0)
}

export function query(name: string): string {
  return new URLSearchParams(route.search).get(name) ?? ''
}

// match returns the parameters of pattern (":name" segments) in path.
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.replace(/\/+$/, '').split('/')
  const s = path.replace(/\/+$/, '').split('/')
  if (p.length !== s.length) return null
  const out: Record<string, string> = {}
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) out[p[i].slice(1)] = decodeURIComponent(s[i])
    else if (p[i] !== s[i]) return null
  }
  return out
}

addEventListener('popstate', sync)
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return
  const a = (e.target as Element).closest('a')
  if (!a || a.target || a.hasAttribute('download') || a.origin !== location.origin) return
  if (a.pathname.startsWith('/api/')) return
  e.preventDefault()
  navigate(a.pathname + a.search)
})
