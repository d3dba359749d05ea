package cluster

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
)

// MaxSequence bounds how many numbers a ${sequence:start:end:format} or a
// ${random:number:lo:hi} may span: a node tries the numbers of a sequence
// one by one, so a huge one would take forever.
const MaxSequence = 1_000_000

// Sequence is a ${sequence:start:end:format} node id expression.
type Sequence struct {
	Start, End int
	Format     string
}

// Candidate is the node id for number i.
func (s Sequence) Candidate(i int) string { return fmt.Sprintf(s.Format, i) }

// ExpandNodeID resolves a node id expression: ${env:NAME}, ${hostname:},
// ${random:number:lo:hi} and ${sequence:start:end:format}. A sequence is
// returned separately, because picking its number needs the node rows.
func ExpandNodeID(expr string, getenv func(string) string, hostname string) (string, *Sequence, error) {
	var out strings.Builder
	var seq *Sequence
	rest := expr
	for {
		i := strings.Index(rest, "${")
		if i < 0 {
			out.WriteString(rest)
			break
		}
		out.WriteString(rest[:i])
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return "", nil, fmt.Errorf("nodeId %q: unclosed ${", expr)
		}
		inner := rest[i+2 : i+j]
		rest = rest[i+j+1:]
		kind, arg, _ := strings.Cut(inner, ":")
		switch kind {
		case "env", "sys":
			v := getenv(arg)
			if v == "" {
				return "", nil, fmt.Errorf("nodeId %q: environment variable %s is not set", expr, arg)
			}
			out.WriteString(v)
		case "hostname":
			out.WriteString(hostname)
		case "random":
			parts := strings.Split(arg, ":")
			lo, hi := 0, 999
			if len(parts) == 3 && parts[0] == "number" {
				var err1, err2 error
				lo, err1 = strconv.Atoi(parts[1])
				hi, err2 = strconv.Atoi(parts[2])
				if err1 != nil || err2 != nil || hi < lo || lo < 0 || hi-lo >= MaxSequence {
					return "", nil, fmt.Errorf("nodeId %q: random needs number:lo:hi with 0 <= lo <= hi and at most %d numbers", expr, MaxSequence)
				}
			}
			out.WriteString(strconv.Itoa(lo + rand.IntN(hi-lo+1)))
		case "sequence":
			parts := strings.Split(arg, ":")
			s := Sequence{Start: 0, End: 100, Format: "%d"}
			var err error
			if len(parts) > 0 && parts[0] != "" {
				if s.Start, err = strconv.Atoi(parts[0]); err != nil {
					return "", nil, fmt.Errorf("nodeId %q: bad sequence start", expr)
				}
			}
			if len(parts) > 1 && parts[1] != "" {
				if s.End, err = strconv.Atoi(parts[1]); err != nil || s.End < s.Start || s.Start < 0 || s.End-s.Start >= MaxSequence {
					return "", nil, fmt.Errorf("nodeId %q: sequence needs start:end with 0 <= start <= end and at most %d numbers", expr, MaxSequence)
				}
			}
			if len(parts) > 2 && parts[2] != "" {
				s.Format = strings.Join(parts[2:], ":")
			}
			s.Format = out.String() + s.Format + rest
			seq = &s
			return "", seq, nil
		default:
			return "", nil, fmt.Errorf("nodeId %q: unknown expression ${%s}", expr, inner)
		}
	}
	if out.Len() == 0 {
		return "", nil, fmt.Errorf("nodeId %q expands to nothing", expr)
	}
	return out.String(), nil, nil
}
