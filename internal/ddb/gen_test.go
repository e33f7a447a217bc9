package ddb_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// gen makes attribute values from a stream of bytes (a fuzzer's, or a
// seeded random source's): each choice takes the next byte, 0 once the
// stream is spent, so that every input makes a finite value.
type gen struct {
	b []byte
	// storable limits the values to what DynamoDB Local stores as given:
	// sets non-empty without duplicates, no empty strings or binaries
	// (DynamoDB takes them outside keys, DynamoDB Local does not), numbers
	// in DynamoDB's own canonical form (it answers "1.50" as "1.5").
	storable bool
}

func seeded(seed uint64, n int) *gen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, 0, n+8)
	for len(b) < n {
		b = binary.LittleEndian.AppendUint64(b, r.Uint64())
	}
	return &gen{b: b}
}

func (g *gen) next() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) upTo(n int) int { return int(g.next()) % (n + 1) }

// The characters a string is made of: JSON's escapes, HTML's, controls,
// several widths of UTF-8, an emoji and its joiner.
var alphabet = []rune("aZ09 _-.#:\"\\/<>&'\n\t\r\x00\x01\x1f\u007f\u00e9\u2028\u2029\ufffd\u4e16\U0001f600\u200d")

func (g *gen) text(max int) string {
	var s strings.Builder
	for range g.upTo(max) {
		s.WriteRune(alphabet[int(g.next())%len(alphabet)])
	}
	return s.String()
}

// str is a string of up to max characters; never empty when storable
// (DynamoDB Local, unlike DynamoDB, refuses empty strings).
func (g *gen) str(max int) string {
	if s := g.text(max); s != "" || !g.storable {
		return s
	}
	return "n"
}

func (g *gen) name() string { return g.str(8) }

func (g *gen) binary() []byte {
	n := g.upTo(12)
	if g.storable {
		n++
	}
	b := make([]byte, n)
	for i := range b {
		b[i] = g.next()
	}
	return b
}

// number is a number as DynamoDB writes it back when storable; otherwise
// any of the forms a client may send.
func (g *gen) number() string {
	n := int64(binary.LittleEndian.Uint32([]byte{g.next(), g.next(), g.next(), g.next()})) - 1<<31
	switch g.upTo(3) {
	case 0:
		return strconv.FormatInt(n, 10)
	case 1: // a fraction without trailing zeros
		return strconv.FormatFloat(float64(n)/1000+0.001*float64(1+g.upTo(8)), 'f', -1, 64)
	case 2:
		if !g.storable {
			return []string{"1E+3", "-0", "0.10", "12345678901234567890123456789012345678"}[g.upTo(3)]
		}
		return "12345678901234567890123456789012345678" // 38 digits, DynamoDB's precision
	}
	return "0"
}

func set[T any](g *gen, each func() T, key func(T) string) []T {
	var out []T
	seen := map[string]bool{}
	for range g.upTo(4) + 1 {
		v := each()
		if g.storable && seen[key(v)] {
			continue
		}
		seen[key(v)] = true
		out = append(out, v)
	}
	return out
}

func (g *gen) value(depth int) types.AttributeValue {
	kinds := 8
	if depth > 0 {
		kinds = 10
	}
	switch int(g.next()) % kinds {
	case 0:
		return &types.AttributeValueMemberS{Value: g.str(16)}
	case 1:
		return &types.AttributeValueMemberN{Value: g.number()}
	case 2:
		return &types.AttributeValueMemberB{Value: g.binary()}
	case 3:
		return &types.AttributeValueMemberBOOL{Value: g.next()%2 == 0}
	case 4:
		return &types.AttributeValueMemberNULL{Value: true}
	case 5:
		return &types.AttributeValueMemberSS{Value: set(g, g.name, func(s string) string { return s })}
	case 6:
		return &types.AttributeValueMemberNS{Value: set(g, g.number, func(s string) string { return s })}
	case 7:
		return &types.AttributeValueMemberBS{Value: set(g, g.binary, func(b []byte) string { return string(b) })}
	case 8:
		return &types.AttributeValueMemberM{Value: g.item(depth - 1)}
	default:
		l := make([]types.AttributeValue, g.upTo(4))
		for i := range l {
			l[i] = g.value(depth - 1)
		}
		return &types.AttributeValueMemberL{Value: l}
	}
}

func (g *gen) item(depth int) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{}
	for range g.upTo(5) + 1 {
		m[g.name()] = g.value(depth)
	}
	return m
}

// normalized is v with its sets in order and empty lists, maps and
// binaries of one form: what a round trip may change without changing the
// value (DynamoDB answers a set in its own order).
func normalized(v types.AttributeValue) types.AttributeValue {
	switch v := v.(type) {
	case *types.AttributeValueMemberB:
		return &types.AttributeValueMemberB{Value: append([]byte{}, v.Value...)}
	case *types.AttributeValueMemberSS:
		return &types.AttributeValueMemberSS{Value: slices.Sorted(slices.Values(v.Value))}
	case *types.AttributeValueMemberNS:
		return &types.AttributeValueMemberNS{Value: slices.Sorted(slices.Values(v.Value))}
	case *types.AttributeValueMemberBS:
		bs := [][]byte{}
		for _, b := range v.Value {
			bs = append(bs, append([]byte{}, b...))
		}
		slices.SortFunc(bs, bytes.Compare)
		return &types.AttributeValueMemberBS{Value: bs}
	case *types.AttributeValueMemberM:
		return &types.AttributeValueMemberM{Value: normalizedItem(v.Value)}
	case *types.AttributeValueMemberL:
		l := []types.AttributeValue{}
		for _, e := range v.Value {
			l = append(l, normalized(e))
		}
		return &types.AttributeValueMemberL{Value: l}
	}
	return v
}

func normalizedItem(m map[string]types.AttributeValue) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for k, v := range m {
		out[k] = normalized(v)
	}
	return out
}
