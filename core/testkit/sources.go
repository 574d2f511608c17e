package testkit

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// Source is one parsed non-test Go file: what ownership tests read to find
// code that queries another package's tables.
type Source struct {
	// Path is the file's path from the walk's root, with forward slashes.
	Path string
	File *ast.File
	Fset *token.FileSet
}

// Pos is where n stands in the file, for a failure message.
func (s Source) Pos(n ast.Node) token.Position { return s.Fset.Position(n.Pos()) }

// Sources parses every non-test Go file under root for which skip (given
// the slash path of each file and folder) is false, and calls visit with
// each. It fails the test when it parses fewer than min files: a walk that
// found nothing proves nothing.
func Sources(t testing.TB, root string, min int, skip func(path string) bool, visit func(Source)) {
	t.Helper()
	fset := token.NewFileSet()
	n := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		path = filepath.ToSlash(path)
		if skip(path) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		n++
		visit(Source{Path: path, File: f, Fset: fset})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < min {
		t.Fatalf("only %d files parsed under %s: the walk did not find the code", n, root)
	}
}

// StringLiterals calls f with each string literal of the file, unquoted
// loosely (its quotes or backquotes trimmed).
func (s Source) StringLiterals(f func(lit *ast.BasicLit, text string)) {
	ast.Inspect(s.File, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			f(lit, strings.Trim(lit.Value, "`\""))
		}
		return true
	})
}

// ModelArgs calls f with each identifier inside the arguments of a call to
// a method named Model (bun's query builders): how a query of a model type
// shows in the source.
func (s Source) ModelArgs(f func(id *ast.Ident, qualifier string)) {
	ast.Inspect(s.File, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "Model" {
			return true
		}
		for _, arg := range call.Args {
			ast.Inspect(arg, func(m ast.Node) bool {
				switch m := m.(type) {
				case *ast.SelectorExpr:
					if x, ok := m.X.(*ast.Ident); ok {
						f(m.Sel, x.Name)
						return false
					}
				case *ast.Ident:
					f(m, "")
				}
				return true
			})
		}
		return true
	})
}
