package templatecheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// envReads is what a function's code reads from its environment.
type envReads struct {
	Required map[string]bool // env.Must: the cold start fails without it
	Optional map[string]bool // env.Or, os.Getenv: the code has a default
}

func (r envReads) all() map[string]bool {
	all := map[string]bool{}
	for name := range r.Required {
		all[name] = true
	}
	for name := range r.Optional {
		all[name] = true
	}
	return all
}

// goPackage is one package's non-test files.
type goPackage struct {
	fset   *token.FileSet
	files  []*ast.File
	funcs  map[string][]decl // top-level functions by name
	meths  map[string][]decl // methods by method name (receiver types are not resolved)
	consts map[string]string // package-level string constants
}

// decl is a function declaration and the file whose imports it sees.
type decl struct {
	file *ast.File
	fn   *ast.FuncDecl
}

// loadPackage parses the non-test .go files of dir.
func loadPackage(fset *token.FileSet, dir string) (*goPackage, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go files in %s", dir)
	}
	return newPackage(fset, files), nil
}

// parsePackage parses Go sources given as text (name → source), for tests
// that feed the reader changed code.
func parsePackage(fset *token.FileSet, sources map[string]string) (*goPackage, error) {
	var files []*ast.File
	for name, src := range sources {
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return newPackage(fset, files), nil
}

func newPackage(fset *token.FileSet, files []*ast.File) *goPackage {
	p := &goPackage{fset: fset, files: files, funcs: map[string][]decl{}, meths: map[string][]decl{}, consts: map[string]string{}}
	for _, f := range files {
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil {
					p.funcs[d.Name.Name] = append(p.funcs[d.Name.Name], decl{f, d})
				} else {
					p.meths[d.Name.Name] = append(p.meths[d.Name.Name], decl{f, d})
				}
			case *ast.GenDecl:
				if d.Tok != token.CONST {
					continue
				}
				for _, spec := range d.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, name := range vs.Names {
						if i < len(vs.Values) {
							if s, ok := stringLit(vs.Values[i]); ok {
								p.consts[name.Name] = s
							}
						}
					}
				}
			}
		}
	}
	return p
}

// importName returns the name a file uses for the package at path, or "".
func importName(f *ast.File, path string) string {
	for _, imp := range f.Imports {
		if p, _ := strconv.Unquote(imp.Path.Value); p == path {
			if imp.Name != nil {
				return imp.Name.Name
			}
			return path[strings.LastIndex(path, "/")+1:]
		}
	}
	return ""
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// envReader finds the environment variables a main package reads: through
// internal/env (Must, Or) or os (Getenv, LookupEnv), in the main package
// itself and in the functions of internal/app it reaches, transitively.
type envReader struct {
	module   string // module path, for the internal/app and internal/env import paths
	main     *goPackage
	app      *goPackage
	reads    envReads
	done     map[*ast.FuncDecl]bool
	problems []string
}

// codeEnvReads returns what main reads from the environment, following its
// references into package app. A call the reader does not understand (a
// variable name it cannot resolve, another env or os function that reads
// the environment) is an error, so nothing passes unseen.
func codeEnvReads(module string, main, app *goPackage) (envReads, error) {
	r := &envReader{
		module: module, main: main, app: app,
		reads: envReads{Required: map[string]bool{}, Optional: map[string]bool{}},
		done:  map[*ast.FuncDecl]bool{},
	}
	usesApp := false
	for _, f := range main.files {
		usesApp = usesApp || importName(f, module+"/internal/app") != ""
		r.scanPackageLevel(main, f)
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				r.scanFunc(main, decl{f, fn})
			}
		}
	}
	if usesApp {
		// Package-level variables and init functions run whenever the
		// package is linked.
		for _, f := range app.files {
			r.scanPackageLevel(app, f)
		}
		for _, d := range app.funcs["init"] {
			r.scanFunc(app, d)
		}
	}
	if len(r.problems) > 0 {
		return r.reads, fmt.Errorf("%s", strings.Join(r.problems, "; "))
	}
	return r.reads, nil
}

func (r *envReader) scanPackageLevel(p *goPackage, f *ast.File) {
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.VAR {
			r.scan(p, f, g)
		}
	}
}

func (r *envReader) scanFunc(p *goPackage, d decl) {
	if r.done[d.fn] {
		return
	}
	r.done[d.fn] = true
	r.scan(p, d.file, d.fn)
}

// scan walks one declaration, recording reads and following references to
// other functions of the same package and, from main, of package app.
func (r *envReader) scan(p *goPackage, f *ast.File, root ast.Node) {
	envName := importName(f, r.module+"/internal/env")
	osName := importName(f, "os")
	appName := ""
	if p == r.main {
		appName = importName(f, r.module+"/internal/app")
	}
	if envName == "." || appName == "." {
		r.problem(p, f.Package, "a dot import of internal/env or internal/app is not understood by this check")
	}
	imported := map[string]bool{}
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		imported[importName(f, path)] = true
	}
	notRefs := map[*ast.Ident]bool{} // selector names and struct literal keys
	var stack []ast.Node
	ast.Inspect(root, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		switch n := n.(type) {
		case *ast.CallExpr:
			if sel, ok := n.Fun.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && envName != "" && x.Name == envName {
					r.envCall(p, sel.Sel.Name, n, stack)
				} else if ok && osName != "" && x.Name == osName {
					r.osCall(p, sel.Sel.Name, n, stack)
				}
			}
		case *ast.SelectorExpr:
			notRefs[n.Sel] = true
			x, ok := n.X.(*ast.Ident)
			switch {
			case ok && appName != "" && x.Name == appName:
				for _, d := range r.app.funcs[n.Sel.Name] {
					r.scanFunc(r.app, d)
				}
			case ok && imported[x.Name]:
				// Another package: only env, os and app matter.
			default:
				for _, d := range p.meths[n.Sel.Name] {
					r.scanFunc(p, d)
				}
			}
		case *ast.KeyValueExpr:
			if key, ok := n.Key.(*ast.Ident); ok {
				notRefs[key] = true
			}
		case *ast.Ident:
			if !notRefs[n] {
				for _, d := range p.funcs[n.Name] {
					r.scanFunc(p, d)
				}
			}
		}
		return true
	})
}

func (r *envReader) envCall(p *goPackage, name string, call *ast.CallExpr, stack []ast.Node) {
	var into map[string]bool
	switch name {
	case "Must":
		into = r.reads.Required
	case "Or":
		into = r.reads.Optional
	case "List":
		return // splits a value; reads nothing
	default:
		r.problem(p, call.Pos(), fmt.Sprintf("env.%s is not understood by this check: teach envReader what it reads", name))
		return
	}
	r.addNames(p, call, stack, into)
}

func (r *envReader) osCall(p *goPackage, name string, call *ast.CallExpr, stack []ast.Node) {
	switch name {
	case "Getenv", "LookupEnv":
		r.addNames(p, call, stack, r.reads.Optional)
	case "Environ", "ExpandEnv", "Expand":
		r.problem(p, call.Pos(), fmt.Sprintf("os.%s reads variables this check cannot name: use env.Must or env.Or", name))
	}
}

// addNames records the variable named by call's first argument: a string
// literal, a string constant, or the variable of an enclosing
// `for _, name := range []string{"A", "B"}` loop.
func (r *envReader) addNames(p *goPackage, call *ast.CallExpr, stack []ast.Node, into map[string]bool) {
	if len(call.Args) == 0 {
		r.problem(p, call.Pos(), "an environment read without a name")
		return
	}
	arg := call.Args[0]
	if s, ok := stringLit(arg); ok {
		into[s] = true
		return
	}
	if id, ok := arg.(*ast.Ident); ok {
		if s, ok := p.consts[id.Name]; ok {
			into[s] = true
			return
		}
		if names, ok := rangeOverLiterals(stack, id.Name); ok {
			for _, s := range names {
				into[s] = true
			}
			return
		}
	}
	r.problem(p, call.Pos(), "cannot tell which environment variable this reads: name it with a string literal, a constant, or a range over a []string literal")
}

// rangeOverLiterals finds, among the enclosing nodes, a range loop whose value
// variable is name over a []string literal, and returns the literal's strings.
func rangeOverLiterals(stack []ast.Node, name string) ([]string, bool) {
	for i := len(stack) - 1; i >= 0; i-- {
		rs, ok := stack[i].(*ast.RangeStmt)
		if !ok {
			continue
		}
		v, ok := rs.Value.(*ast.Ident)
		if !ok || v.Name != name {
			continue
		}
		lit, ok := rs.X.(*ast.CompositeLit)
		if !ok {
			return nil, false
		}
		if arr, ok := lit.Type.(*ast.ArrayType); !ok || arr.Len != nil || !isIdent(arr.Elt, "string") {
			return nil, false
		}
		var names []string
		for _, e := range lit.Elts {
			s, ok := stringLit(e)
			if !ok {
				return nil, false
			}
			names = append(names, s)
		}
		return names, true
	}
	return nil, false
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && id.Name == name
}

func (r *envReader) problem(p *goPackage, pos token.Pos, msg string) {
	r.problems = append(r.problems, fmt.Sprintf("%s: %s", p.fset.Position(pos), msg))
}

// envReadersElsewhere returns the files, among the packages in dirs, that
// read the environment: only package app (through internal/env) and the
// main packages may, or the function environments checked here would be
// incomplete.
func envReadersElsewhere(module string, dirs []string) ([]string, error) {
	var found []string
	for _, dir := range dirs {
		fset := token.NewFileSet()
		p, err := loadPackage(fset, dir)
		if err != nil {
			return nil, err
		}
		for _, f := range p.files {
			name := fset.Position(f.Package).Filename
			if importName(f, module+"/internal/env") != "" {
				found = append(found, name+" imports internal/env")
			}
			osName := importName(f, "os")
			if osName == "" {
				continue
			}
			ast.Inspect(f, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && isIdent(sel.X, osName) {
					switch sel.Sel.Name {
					case "Getenv", "LookupEnv", "Environ", "ExpandEnv", "Expand":
						found = append(found, fmt.Sprintf("%s uses os.%s", fset.Position(sel.Pos()), sel.Sel.Name))
					}
				}
				return true
			})
		}
	}
	return found, nil
}

// moduleDirs returns the directories of this module's packages that the
// given main packages link, by `go list -deps`.
func moduleDirs(root, module string, mains ...string) ([]string, error) {
	cmd := exec.Command("go", append([]string{"list", "-deps", "-f", "{{.ImportPath}}\t{{.Dir}}"}, mains...)...)
	cmd.Dir = root
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var dirs []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		path, dir, _ := strings.Cut(line, "\t")
		if path == module || strings.HasPrefix(path, module+"/") {
			dirs = append(dirs, dir)
		}
	}
	return dirs, nil
}

// modulePath reads the module path from go.mod.
func modulePath(root string) (string, error) {
	data, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	return "", fmt.Errorf("no module line in go.mod")
}
