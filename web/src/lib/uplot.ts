// uPlot and its stylesheet, one chunk that Chart.svelte imports on first
// draw: pages without a chart never load it.
import 'uplot/dist/uPlot.min.css'
export { default } from 'uplot'
