package codestyle

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// maxLines is the longest a function may be (its declaration, from func to
// the closing brace) without saying why in its doc comment.
const maxLines = 80

// longReason is how a longer function's doc comment gives its reason:
// "Long because it is one table, read top to bottom." ("longer than 80
// lines because …" says the same).
var longReason = regexp.MustCompile(`(?i)\blong(er\s+than\s+[0-9]+\s+lines)?\s+because\b`)

// Every function of the module's non-test source is at most maxLines long,
// or says in its doc comment why it is longer (longReason): a long function
// is split along its meaning, or kept whole for a reason a reader is told.
func TestFunctionsAreShortOrSayWhy(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the module's root is not %s: %v", root, err)
	}
	long, err := longFunctions(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range long {
		t.Errorf("%s: %d lines, over %d, and its doc comment gives no reason (\"Long because …\"): split it along its meaning, or say why it reads best whole", f.where, f.lines, maxLines)
	}
}

type longFunc struct {
	where string
	lines int
}

// longFunctions walks the module under root and returns the functions
// longer than maxLines whose doc comment gives no reason (longReason).
func longFunctions(root string) ([]longFunc, error) {
	var out []longFunc
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			name := d.Name()
			if rel != "." && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			n := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
			if n <= maxLines || longReason.MatchString(fd.Doc.Text()) {
				continue
			}
			out = append(out, longFunc{where: fmt.Sprintf("%s:%d %s", filepath.ToSlash(rel), fset.Position(fd.Pos()).Line, funcName(fd)), lines: n})
		}
		return nil
	})
	return out, err
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if g, ok := t.(*ast.IndexExpr); ok {
		t = g.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// The rule itself: a long function without a reason is found, one with a
// reason, a short one, a test file's and testdata's are not.
func TestLongFunctionsFindsOnlyTheUnexplained(t *testing.T) {
	dir := t.TempDir()
	body := func(name, doc string, lines int) string {
		return doc + "func " + name + "() {\n" + strings.Repeat("\t_ = 0\n", lines-2) + "}\n"
	}
	write := func(path, src string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, path)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, path), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("p/p.go", "package p\n\n"+
		body("long", "// long is long.\n", 81)+
		body("table", "// table is one table.\n//\n// Long because it is read top to bottom.\n", 81)+
		body("wrapped", "// wrapped is one table, longer\n// than 80 lines because it is data.\n", 81)+
		body("short", "", 80))
	write("p/p_test.go", "package p\n\n"+body("longTest", "", 90))
	write("p/testdata/x.go", "package x\n\n"+body("longData", "", 90))
	long, err := longFunctions(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(long) != 1 || long[0].where != "p/p.go:4 long" || long[0].lines != 81 {
		t.Fatalf("got %+v, want only p/p.go:4 long, 81 lines", long)
	}
}
