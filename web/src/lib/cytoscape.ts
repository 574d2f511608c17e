// Cytoscape.js, imported by GraphView.svelte on first draw so that only the
// graph pages load it.
import cytoscape from 'cytoscape'

// Cytoscape's renderer adds a <style> element giving its container
// `position: relative`, unless an element with this id exists. The console's
// Content-Security-Policy (style-src 'self') refuses such an element, so the
// rule is in app.css (.graph-canvas) and this marker stands in for it.
const marker = '__________cytoscape_stylesheet'
if (!document.getElementById(marker)) {
  const m = document.createElement('meta')
  m.id = marker
  m.name = 'cytoscape-stylesheet'
  m.content = 'app.css'
  document.head.append(m)
}

export default cytoscape
