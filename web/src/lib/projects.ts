// The console's project icon set: the names the API accepts for a
// project's icon and the symbol each is drawn with. A name the console does
// not know (set through the API) falls back to the folder.
export const icons: Record<string, string> = {
  folder: '📁',
  server: '🖥',
  globe: '🌐',
  database: '🗄',
  cart: '🛒',
  game: '🎮',
  flask: '🧪',
  rocket: '🚀',
  shield: '🛡',
  star: '⭐',
}

export function iconOf(name: string): string {
  return icons[name] ?? icons.folder
}

// The dependency types, in the order the console offers them.
export const dependencyTypes = ['database', 'storage', 'network', 'api', 'other'] as const

// A move of services into a project or out of every project ('' is no
// project) made of the API's calls: moving in takes services from wherever
// they are; moving out is asked of the project each service is in.
export function groupByProject(ids: string[], projectOf: Record<string, string | null | undefined>): Map<string, string[]> {
  const groups = new Map<string, string[]>()
  for (const id of ids) {
    const p = projectOf[id]
    if (!p) continue
    groups.set(p, [...(groups.get(p) ?? []), id])
  }
  return groups
}
