package templatecheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	path   string // import path ("" for a package parsed from text and not loaded by path)
	name   string // package name
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
	p := &goPackage{name: files[0].Name.Name, fset: fset, files: files, funcs: map[string][]decl{}, meths: map[string][]decl{}, consts: map[string]string{}}
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

// notFollowed are the packages of this module whose reads the environment
// checks do not count: the reading itself, and Lambda's own variables
// (region, role credentials, endpoint overrides, the runtime API that
// internal/afterresponse registers its extension with), which the runtime
// sets and the template never does.
var notFollowed = map[string]bool{"internal/env": true, "internal/awsconfig": true, "internal/afterresponse": true}

// loader parses this module's packages by import path, once each.
type loader struct {
	fset   *token.FileSet
	module string
	dirs   map[string]string // import path → directory
	parsed map[string]*goPackage
	// sources, when set, stands in for the directories: import path →
	// file name → source (the reader's own tests).
	sources map[string]map[string]string
}

func (l *loader) load(path string) (*goPackage, error) {
	if p, ok := l.parsed[path]; ok {
		return p, nil
	}
	var p *goPackage
	var err error
	if l.sources != nil {
		src, ok := l.sources[path]
		if !ok {
			return nil, fmt.Errorf("no package %s", path)
		}
		p, err = parsePackage(l.fset, src)
	} else {
		dir, ok := l.dirs[path]
		if !ok {
			return nil, fmt.Errorf("no package %s among those the functions link", path)
		}
		p, err = loadPackage(l.fset, dir)
	}
	if err != nil {
		return nil, err
	}
	p.path = path
	if l.parsed == nil {
		l.parsed = map[string]*goPackage{}
	}
	l.parsed[path] = p
	return p, nil
}

// followed reports whether path is a package of this module whose reads count.
func (l *loader) followed(path string) bool {
	rel, ok := strings.CutPrefix(path, l.module+"/")
	return ok && !notFollowed[rel]
}

// envReader finds the environment variables a main package reads: through
// internal/env (Must, Or) or os (Getenv, LookupEnv), in the main package
// itself and in the functions of this module's other packages that it
// reaches, transitively (a constructor such as dynamo.FromEnv reads its own
// variables), plus the package-level variables and init functions of every
// package of this module that it links. Methods are followed by name within
// a package only, so outside main packages the environment may be read in
// functions, not methods (envReadsOf checks that).
type envReader struct {
	loader   *loader
	reads    envReads
	at       map[token.Position]bool // where each read was found
	done     map[*ast.FuncDecl]bool
	problems []string
}

// codeEnvReads returns what main reads from the environment, and where. linked
// are the import paths of this module's packages that main links. A call the
// reader does not understand (a variable name it cannot resolve, another env
// or os function that reads the environment) is an error, so nothing passes
// unseen.
func codeEnvReads(l *loader, main *goPackage, linked []string) (envReads, map[token.Position]bool, error) {
	r := &envReader{
		loader: l,
		reads:  envReads{Required: map[string]bool{}, Optional: map[string]bool{}},
		at:     map[token.Position]bool{},
		done:   map[*ast.FuncDecl]bool{},
	}
	for _, f := range main.files {
		r.scanPackageLevel(main, f)
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok {
				r.scanFunc(main, decl{f, fn})
			}
		}
	}
	// Package-level variables and init functions run whenever the package
	// is linked.
	for _, path := range linked {
		if !l.followed(path) {
			continue
		}
		p, err := l.load(path)
		if err != nil {
			return r.reads, r.at, err
		}
		for _, f := range p.files {
			r.scanPackageLevel(p, f)
		}
		for _, d := range p.funcs["init"] {
			r.scanFunc(p, d)
		}
	}
	if len(r.problems) > 0 {
		return r.reads, r.at, fmt.Errorf("%s", strings.Join(r.problems, "; "))
	}
	return r.reads, r.at, nil
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

// follow scans the functions called name in the package at path.
func (r *envReader) follow(from *goPackage, pos token.Pos, path, name string) {
	p, err := r.loader.load(path)
	if err != nil {
		r.problem(from, pos, err.Error())
		return
	}
	for _, d := range p.funcs[name] {
		r.scanFunc(p, d)
	}
}

// scan walks one declaration, recording reads and following references to
// other functions of the same package and of this module's packages.
func (r *envReader) scan(p *goPackage, f *ast.File, root ast.Node) {
	envName := importName(f, r.loader.module+"/internal/env")
	osName := importName(f, "os")
	imported := map[string]string{} // name in this file → import path
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		name := importName(f, path)
		if name == "." && (r.loader.followed(path) || path == r.loader.module+"/internal/env") {
			r.problem(p, imp.Pos(), "a dot import of "+path+" is not understood by this check")
		}
		imported[name] = path
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
			path, isImport := "", false
			if ok {
				path, isImport = imported[x.Name]
			}
			switch {
			case isImport && r.loader.followed(path):
				r.follow(p, n.Pos(), path, n.Sel.Name)
			case isImport:
				// Another module's package, the standard library, or
				// env and os themselves (their calls are read above).
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
	r.at[p.fset.Position(call.Pos())] = true
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

// envRead is one place where a package reads the environment.
type envRead struct {
	At     token.Position
	What   string // "env.Must", "os.Getenv"…
	Method string // the method it is in ("" outside methods)
}

// envReadsOf lists every place p reads the environment: calls of internal/env
// (but env.List, which reads nothing) and of os's environment functions.
func envReadsOf(module string, p *goPackage) []envRead {
	var found []envRead
	for _, f := range p.files {
		envName, osName := importName(f, module+"/internal/env"), importName(f, "os")
		for _, d := range f.Decls {
			method := ""
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv != nil {
				method = fn.Name.Name
			}
			ast.Inspect(d, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch {
				case envName != "" && isIdent(sel.X, envName) && sel.Sel.Name != "List":
				case osName != "" && isIdent(sel.X, osName) && slices.Contains([]string{"Getenv", "LookupEnv", "Environ", "ExpandEnv", "Expand"}, sel.Sel.Name):
				default:
					return true
				}
				found = append(found, envRead{At: p.fset.Position(call.Pos()), What: sel.X.(*ast.Ident).Name + "." + sel.Sel.Name, Method: method})
				return true
			})
		}
	}
	return found
}

// checkEnvReadsReached checks that every environment read in pkgs (the
// followed packages the functions link) is one that the readings reached
// (reached), and that none outside a main package is in a method, which the
// readings cannot follow across packages: otherwise a function could read
// a variable that TestEnvironmentIsWhatTheCodeReads never sees.
func checkEnvReadsReached(module string, pkgs []*goPackage, reached map[token.Position]bool) []string {
	var problems []string
	for _, p := range pkgs {
		for _, read := range envReadsOf(module, p) {
			switch {
			case read.Method != "" && p.name != "main":
				problems = append(problems, fmt.Sprintf("%s: %s in method %s: read the environment in a function (a constructor such as FromEnv), which the check follows from each main package", read.At, read.What, read.Method))
			case !reached[read.At]:
				problems = append(problems, fmt.Sprintf("%s: %s is reached from no function's main package as far as the check can follow (by name): call it directly from main or from a function main calls", read.At, read.What))
			}
		}
	}
	return problems
}

// listedPackage is a package as `go list` shows it.
type listedPackage struct {
	ImportPath string
	Dir        string
	Deps       []string
	Imports    []string // the packages it imports itself
	Standard   bool
}

// goList lists the given main packages and every package they link, as the
// Makefile's Lambda build sees them (its GOOS, GOARCH and build tags).
func goList(root string, mains ...string) (map[string]listedPackage, error) {
	args := append([]string{"list", "-deps", "-tags", lambdaBuild.Flags["-tags"], "-f",
		"{{.ImportPath}}\t{{.Dir}}\t{{.Standard}}\t{{join .Deps \" \"}}\t{{join .Imports \" \"}}"}, mains...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+lambdaBuild.Env["GOOS"], "GOARCH="+lambdaBuild.Env["GOARCH"], "CGO_ENABLED="+lambdaBuild.Env["CGO_ENABLED"])
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	pkgs := map[string]listedPackage{}
	// TrimRight, not TrimSpace: a last package without imports ends in a tab.
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		fields := strings.Split(line, "\t")
		if len(fields) != 5 {
			return nil, fmt.Errorf("go list printed %q", line)
		}
		pkgs[fields[0]] = listedPackage{ImportPath: fields[0], Dir: fields[1], Standard: fields[2] == "true", Deps: strings.Fields(fields[3]), Imports: strings.Fields(fields[4])}
	}
	return pkgs, nil
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
