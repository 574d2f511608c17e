// Package web holds the web console's sources (src/, built with Vite: see
// docs/console.md) and its committed build, embedded here so the binary
// serves the console without Node.
package web

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the built console: index.html, assets/ (hashed names) and each
// file's precompressed .br and .gz twins, plus .vite/manifest.json.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err)
	}
	return sub
}
