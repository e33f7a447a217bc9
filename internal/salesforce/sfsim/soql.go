package sfsim

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// The SOQL this simulator understands:
//
//	SELECT field, … FROM Object
//	  [WHERE cond [AND cond]…] [ORDER BY field [ASC|DESC]] [LIMIT n]
//	cond: field = lit | field != lit | field [NOT] IN (lit, …)
//	lit:  'string' | number | true | false | null
//
// Anything else is a 400 MALFORMED_QUERY, as an unparsable query is to Salesforce.

type litKind int

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
)

type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool
}

type condition struct {
	field  string
	op     string // "=", "!=", "IN", "NOT IN"
	values []literal
}

type soqlQuery struct {
	fields  []string
	object  string
	where   []condition
	orderBy string
	desc    bool
	limit   int // -1: none

	text      string         // the query as sent, for error messages
	objectPos int            // where the object's name starts
	positions map[string]int // where each field name first appears
}

// errorAt is a query error as Salesforce words it: the line of the query,
// a caret under the column, "ERROR at Row:R:Column:C" and the reason.
func (q soqlQuery) errorAt(pos int, code, text string) *restError {
	return queryError(q.text, pos, code, text)
}

func queryError(query string, pos int, code, text string) *restError {
	pos = max(0, min(pos, len(query)))
	row := 1 + strings.Count(query[:pos], "\n")
	lineStart := strings.LastIndex(query[:pos], "\n") + 1
	line, _, _ := strings.Cut(query[lineStart:], "\n")
	col := pos - lineStart
	msg := fmt.Sprintf("\n%s\n%s^\nERROR at Row:%d:Column:%d\n%s", line, strings.Repeat(" ", col), row, col+1, text)
	return newRESTError(400, code, msg)
}

type tokKind int

const (
	tokIdent tokKind = iota
	tokString
	tokNumber
	tokPunct
	tokEOF
)

type token struct {
	kind tokKind
	text string // for tokString: the unescaped value
	pos  int
}

func malformed(query string, pos int, format string, args ...any) *restError {
	return queryError(query, pos, "MALFORMED_QUERY", fmt.Sprintf(format, args...))
}

// soqlEscapes are the escape sequences SOQL allows in string literals
// (\_ and \% only mean something in LIKE, which is not supported).
var soqlEscapes = map[byte]byte{
	'\\': '\\', '\'': '\'', '"': '"',
	'n': '\n', 'N': '\n', 'r': '\r', 'R': '\r', 't': '\t', 'T': '\t',
	'b': '\b', 'B': '\b', 'f': '\f', 'F': '\f',
}

func lex(q string) ([]token, *restError) {
	var toks []token
	for i := 0; i < len(q); {
		c := q[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(q) {
					return nil, malformed(q, start, "unterminated string literal")
				}
				if q[i] == '\'' {
					i++
					break
				}
				if q[i] == '\\' {
					if i+1 >= len(q) {
						return nil, malformed(q, start, "unterminated string literal")
					}
					e, ok := soqlEscapes[q[i+1]]
					if !ok {
						return nil, malformed(q, start, "Invalid string literal '%s'. Illegal character sequence '\\%c' in string literal.", q[start:min(len(q), i+2)], q[i+1])
					}
					b.WriteByte(e)
					i += 2
					continue
				}
				b.WriteByte(q[i])
				i++
			}
			toks = append(toks, token{tokString, b.String(), start})
		case c == '_' || unicode.IsLetter(rune(c)):
			start := i
			for i < len(q) && (q[i] == '_' || q[i] == '.' || unicode.IsLetter(rune(q[i])) || unicode.IsDigit(rune(q[i]))) {
				i++
			}
			toks = append(toks, token{tokIdent, q[start:i], start})
		case c == '-' || unicode.IsDigit(rune(c)):
			start := i
			i++
			for i < len(q) && (unicode.IsDigit(rune(q[i])) || q[i] == '.') {
				i++
			}
			toks = append(toks, token{tokNumber, q[start:i], start})
		case c == '!' && i+1 < len(q) && q[i+1] == '=':
			toks = append(toks, token{tokPunct, "!=", i})
			i += 2
		case c == '(' || c == ')' || c == ',' || c == '=':
			toks = append(toks, token{tokPunct, string(c), i})
			i++
		default:
			return nil, malformed(q, i, "unexpected token: '%c'", c)
		}
	}
	return append(toks, token{tokEOF, "", len(q)}), nil
}

type parser struct {
	query string
	toks  []token
	i     int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) unexpected(t token) *restError {
	if t.kind == tokEOF {
		return malformed(p.query, t.pos, "unexpected token: <EOF>")
	}
	return malformed(p.query, t.pos, "unexpected token: '%s'", t.text)
}

func (p *parser) isKeyword(words ...string) bool {
	for k, w := range words {
		t := p.toks[min(p.i+k, len(p.toks)-1)]
		if t.kind != tokIdent || !strings.EqualFold(t.text, w) {
			return false
		}
	}
	return true
}

func (p *parser) keyword(w string) *restError {
	if !p.isKeyword(w) {
		return p.unexpected(p.peek())
	}
	p.next()
	return nil
}

func (p *parser) ident() (string, *restError) {
	t := p.next()
	if t.kind != tokIdent {
		return "", p.unexpected(t)
	}
	return t.text, nil
}

func (p *parser) punct(s string) *restError {
	t := p.next()
	if t.kind != tokPunct || t.text != s {
		return p.unexpected(t)
	}
	return nil
}

func (p *parser) literal() (literal, *restError) {
	t := p.next()
	switch t.kind {
	case tokString:
		return literal{kind: litString, s: t.text}, nil
	case tokNumber:
		n, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return literal{}, p.unexpected(t)
		}
		return literal{kind: litNumber, n: n}, nil
	case tokIdent:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return literal{kind: litBool, b: strings.EqualFold(t.text, "true")}, nil
		case "null":
			return literal{kind: litNull}, nil
		}
	}
	return literal{}, p.unexpected(t)
}

func (p *parser) condition() (condition, *restError) {
	field, err := p.ident()
	if err != nil {
		return condition{}, err
	}
	c := condition{field: field}
	switch {
	case p.isKeyword("NOT", "IN"):
		p.next()
		p.next()
		c.op = "NOT IN"
	case p.isKeyword("IN"):
		p.next()
		c.op = "IN"
	default:
		t := p.next()
		if t.kind != tokPunct || (t.text != "=" && t.text != "!=") {
			return condition{}, p.unexpected(t)
		}
		lit, err := p.literal()
		if err != nil {
			return condition{}, err
		}
		c.op, c.values = t.text, []literal{lit}
		return c, nil
	}
	if err := p.punct("("); err != nil {
		return condition{}, err
	}
	for {
		lit, err := p.literal()
		if err != nil {
			return condition{}, err
		}
		c.values = append(c.values, lit)
		t := p.next()
		if t.kind == tokPunct && t.text == ")" {
			return c, nil
		}
		if t.kind != tokPunct || t.text != "," {
			return condition{}, p.unexpected(t)
		}
	}
}

// parseSOQL parses the subset of SOQL described above.
func parseSOQL(q string) (soqlQuery, *restError) {
	toks, err := lex(q)
	if err != nil {
		return soqlQuery{}, err
	}
	p := &parser{query: q, toks: toks}
	out := soqlQuery{limit: -1, text: q, positions: map[string]int{}}
	note := func(name string, pos int) {
		if _, ok := out.positions[name]; !ok {
			out.positions[name] = pos
		}
	}
	if err := p.keyword("SELECT"); err != nil {
		return soqlQuery{}, err
	}
	for {
		note(p.peek().text, p.peek().pos)
		f, err := p.ident()
		if err != nil {
			return soqlQuery{}, err
		}
		out.fields = append(out.fields, f)
		if t := p.peek(); t.kind == tokPunct && t.text == "," {
			p.next()
			continue
		}
		break
	}
	if err := p.keyword("FROM"); err != nil {
		return soqlQuery{}, err
	}
	out.objectPos = p.peek().pos
	if out.object, err = p.ident(); err != nil {
		return soqlQuery{}, err
	}
	if p.isKeyword("WHERE") {
		p.next()
		for {
			note(p.peek().text, p.peek().pos)
			c, err := p.condition()
			if err != nil {
				return soqlQuery{}, err
			}
			out.where = append(out.where, c)
			if !p.isKeyword("AND") {
				break
			}
			p.next()
		}
	}
	if p.isKeyword("ORDER", "BY") {
		p.next()
		p.next()
		note(p.peek().text, p.peek().pos)
		if out.orderBy, err = p.ident(); err != nil {
			return soqlQuery{}, err
		}
		switch {
		case p.isKeyword("DESC"):
			p.next()
			out.desc = true
		case p.isKeyword("ASC"):
			p.next()
		}
	}
	if p.isKeyword("LIMIT") {
		p.next()
		t := p.next()
		n, convErr := strconv.Atoi(t.text)
		if t.kind != tokNumber || convErr != nil || n < 0 {
			return soqlQuery{}, p.unexpected(t)
		}
		out.limit = n
	}
	if t := p.next(); t.kind != tokEOF {
		return soqlQuery{}, p.unexpected(t)
	}
	return out, nil
}
