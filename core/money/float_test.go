package money_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moneyTrees are the source trees where no float may appear: this package
// and the billing domain built on it.
var moneyTrees = []string{".", "../billing"}

// intMath are the math identifiers that are integers, not floats.
var intMath = map[string]bool{
	"MaxInt": true, "MinInt": true, "MaxInt8": true, "MinInt8": true, "MaxInt16": true, "MinInt16": true,
	"MaxInt32": true, "MinInt32": true, "MaxInt64": true, "MinInt64": true,
	"MaxUint": true, "MaxUint8": true, "MaxUint16": true, "MaxUint32": true, "MaxUint64": true,
}

// floatCalls are selectors that produce or parse floats whatever their
// receiver: strconv's float functions, time.Duration's float accessors,
// math/big's Float and Rat.
var floatCalls = map[string]bool{
	"ParseFloat": true, "FormatFloat": true, "AppendFloat": true,
	"Hours": true, "Minutes": true, "Seconds": true,
	"NewFloat": true, "Float": true, "Float32": true, "Float64": true, "NewRat": true, "Rat": true,
	"ExpFloat64": true, "NormFloat64": true,
}

// TestNoFloatInMoneyCode parses every Go file of the money trees and fails
// on a float type, a float literal, a non-integer identifier of package
// math, or a call that yields a float. Benchmarks (*bench_test.go) are
// exempt: testing.B.ReportMetric takes a float64 for its extra figures.
// Programs under testdata are not money code.
func TestNoFloatInMoneyCode(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	files := 0
	for _, root := range moneyTrees {
		if _, err := os.Stat(root); err != nil {
			t.Fatalf("money tree %s: %v", root, err)
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "bench_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			files++
			for _, p := range floatUses(f) {
				t.Errorf("%s: %s", fset.Position(p.pos), p.what)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 5 {
		t.Fatalf("checked only %d files: are the money trees %v right?", files, moneyTrees)
	}
}

type finding struct {
	pos  token.Pos
	what string
}

func floatUses(f *ast.File) []finding {
	var out []finding
	mathName := ""
	for _, imp := range f.Imports {
		if strings.Trim(imp.Path.Value, `"`) == "math" {
			mathName = "math"
			if imp.Name != nil {
				mathName = imp.Name.Name
			}
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			if n.Name == "float32" || n.Name == "float64" || n.Name == "complex64" || n.Name == "complex128" {
				out = append(out, finding{n.Pos(), "float type " + n.Name})
			}
		case *ast.BasicLit:
			if n.Kind == token.FLOAT || n.Kind == token.IMAG {
				out = append(out, finding{n.Pos(), "float literal " + n.Value})
			}
		case *ast.SelectorExpr:
			if x, ok := n.X.(*ast.Ident); ok && mathName != "" && x.Name == mathName && !intMath[n.Sel.Name] {
				out = append(out, finding{n.Pos(), "math." + n.Sel.Name + " works on floats"})
			}
			if floatCalls[n.Sel.Name] {
				out = append(out, finding{n.Pos(), "." + n.Sel.Name + " yields or parses a float"})
			}
		}
		return true
	})
	return out
}

// TestFloatCheckFindsFloats proves the check is not vacuous.
func TestFloatCheckFindsFloats(t *testing.T) {
	t.Parallel()
	src := `package p
import ("math"; "strconv"; "time")
func f(d time.Duration) {
	var a float64 = 1.5
	_ = math.Round(a)
	_, _ = strconv.ParseFloat("1", 64)
	_ = d.Hours()
	_ = math.MaxInt64
	_ = float32(2)
}`
	f, err := parser.ParseFile(token.NewFileSet(), "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range floatUses(f) {
		got = append(got, p.what)
	}
	want := []string{
		"float type float64", "float literal 1.5", "math.Round works on floats",
		".ParseFloat yields or parses a float", ".Hours yields or parses a float", "float type float32",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
