package config

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// xmlReader walks a midPoint-style config.xml as a token stream so that every key, warning
// and error can name its line.
type xmlReader struct {
	d     *xml.Decoder
	src   string
	l     *loader
	start int // line where the last token began
}

// readXML records the keys of a <configuration><midpoint>…</midpoint></configuration> (or bare
// <midpoint>) document. The seed's fragments as written — sections such as <repository> and
// <taskManager>, or keys, with no root element — are read as the body of <midpoint>, with a
// warning. Unknown elements become warnings; malformed XML is a *KeyError.
func readXML(src string, data []byte, l *loader) error {
	x := &xmlReader{d: xml.NewDecoder(bytes.NewReader(data)), src: src, l: l}
	seenRoot, fragment := false, false
	for {
		tok, err := x.next()
		if errors.Is(err, io.EOF) {
			if !seenRoot {
				return x.fail("configuration", "has no <configuration> element")
			}
			return nil
		}
		if err != nil {
			return x.syntax(err, "configuration")
		}
		switch t := tok.(type) {
		case xml.CharData:
			if fragment {
				x.strayText("midpoint", t)
			}
			continue
		case xml.StartElement:
			name := t.Name.Local
			switch {
			case fragment && (name == "configuration" || name == "midpoint"):
				return x.fail(name, "a root element after top-level keys; put everything inside <configuration><midpoint>…</midpoint></configuration>")
			case fragment:
				err = x.child(t, "")
			case seenRoot:
				return x.fail(name, "element after the end of the root element")
			case name == "configuration":
				err = x.configuration()
			case name == "midpoint":
				err = x.section("midpoint", "")
			case sections[name] || isLeaf(canonicalKey(name)):
				fragment = true
				x.l.warn(name, x.here(), "no root element: read as the body of <midpoint> (wrap the file in <configuration><midpoint>…</midpoint></configuration> to silence this)")
				err = x.child(t, "")
			default:
				err = x.fail(name, "root element must be <configuration> or <midpoint> (or, without a root, midPoint sections such as <repository> and <taskManager>)")
			}
			seenRoot = true
		}
		if err != nil {
			return err
		}
	}
}

// next reads one token, remembering the line it starts on.
func (x *xmlReader) next() (xml.Token, error) {
	x.start = x.line()
	return x.d.Token()
}

func (x *xmlReader) line() int {
	line, _ := x.d.InputPos()
	return line
}

// here is where the last token began.
func (x *xmlReader) here() origin { return origin{x.src, x.start} }

func (x *xmlReader) fail(key, msg string) error {
	return &KeyError{Key: key, Line: x.line(), Source: x.src, Msg: msg}
}

// syntax turns a decoder error into a *KeyError naming the element being read.
func (x *xmlReader) syntax(err error, key string) error {
	if se, ok := errors.AsType[*xml.SyntaxError](err); ok {
		return &KeyError{Key: key, Line: se.Line, Source: x.src, Msg: "malformed XML: " + se.Msg}
	}
	return x.fail(key, "malformed XML: "+err.Error())
}

// configuration reads the children of <configuration>: <midpoint> sections, anything else warned.
func (x *xmlReader) configuration() error {
	for {
		tok, err := x.next()
		if err != nil {
			return x.syntax(err, "configuration")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local == "midpoint" {
				if err := x.section("midpoint", ""); err != nil {
					return err
				}
				continue
			}
			x.l.warn("configuration/"+t.Name.Local, x.here(), "unknown element (keys belong under <midpoint>), ignored")
			if err := x.d.Skip(); err != nil {
				return x.syntax(err, "configuration/"+t.Name.Local)
			}
		case xml.EndElement:
			return nil
		}
	}
}

// section reads the children of <midpoint> (prefix "") or of a section such as <repository>
// until its end tag. where names the element in messages.
func (x *xmlReader) section(where, prefix string) error {
	for {
		tok, err := x.next()
		if err != nil {
			return x.syntax(err, where)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := x.child(t, prefix); err != nil {
				return err
			}
		case xml.CharData:
			x.strayText(where, t)
		case xml.EndElement:
			return nil
		}
	}
}

// child reads one element under <midpoint> (prefix "") or under a section.
func (x *xmlReader) child(t xml.StartElement, prefix string) error {
	key := canonicalKey(t.Name.Local)
	if prefix != "" {
		key = prefix + "/" + t.Name.Local
	}
	o := x.here()
	switch {
	case prefix == "" && sections[key]:
		return x.section(key, key)
	case isLeaf(key):
		v, err := x.leaf(key)
		if err == nil {
			x.l.set(key, v, o)
		}
		return err
	default:
		x.l.warnIgnored(key, o)
		if err := x.d.Skip(); err != nil {
			return x.syntax(err, key)
		}
	}
	return nil
}

// strayText warns about text outside any key.
func (x *xmlReader) strayText(where string, t xml.CharData) {
	if s := strings.TrimSpace(string(t)); s != "" {
		lead := string(t)[:strings.Index(string(t), s)]
		o := origin{x.src, x.start + strings.Count(lead, "\n")}
		x.l.warn(where, o, fmt.Sprintf("text %q outside any key, ignored", s))
	}
}

// leaf reads the text of a value element up to its end tag.
func (x *xmlReader) leaf(key string) (string, error) {
	var b strings.Builder
	for {
		tok, err := x.next()
		if err != nil {
			return "", x.syntax(err, key)
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", x.fail(key, fmt.Sprintf("takes a value, not an element <%s>", t.Name.Local))
		case xml.EndElement:
			return strings.TrimSpace(b.String()), nil
		}
	}
}
