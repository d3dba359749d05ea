package httpapi_test

import (
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"cadre/interfaces/httpapi"
)

// TestWireTypesMatchOpenAPI: the REST adapter's response types and the
// schemas of the OpenAPI description name the same fields, in both
// directions, and a field the description calls required is never left out
// of the JSON (omitempty). A field added on one side only fails here.
func TestWireTypesMatchOpenAPI(t *testing.T) {
	schemas := openAPISchemas(t)
	tests := []struct {
		schema string
		wire   any
	}{
		{"Task", httpapi.TaskJSON{}},
		{"Progress", httpapi.ProgressJSON{}},
		{"Retry", httpapi.RetryJSON{}},
		{"Bucket", httpapi.BucketJSON{}},
		{"Checkpoint", httpapi.CheckpointJSON{}},
		{"Node", httpapi.NodeJSON{}},
		{"ExecutionLimit", httpapi.LimitJSON{}},
	}
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			s, ok := schemas[tc.schema]
			if !ok {
				t.Fatalf("openapi.yaml has no schema %s", tc.schema)
			}
			fields := jsonFields(reflect.TypeOf(tc.wire))
			for _, p := range sortedKeys(s.Properties) {
				if _, ok := fields[p]; !ok {
					t.Errorf("schema %s has property %q that %T does not send", tc.schema, p, tc.wire)
				}
			}
			for _, name := range sortedKeys(fields) {
				if _, ok := s.Properties[name]; !ok {
					t.Errorf("%T sends %q that schema %s does not describe", tc.wire, name, tc.schema)
				}
			}
			for _, r := range s.Required {
				if f, ok := fields[r]; ok && f.omitEmpty {
					t.Errorf("schema %s requires %q but %T leaves it out when empty (omitempty)", tc.schema, r, tc.wire)
				}
			}
		})
	}
}

// schema is the part of an OpenAPI schema the test compares.
type schema struct {
	Required   []string       `yaml:"required"`
	Properties map[string]any `yaml:"properties"`
}

func openAPISchemas(t *testing.T) map[string]schema {
	t.Helper()
	var doc struct {
		Components struct {
			Schemas map[string]schema `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(httpapi.OpenAPISpec(), &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	return doc.Components.Schemas
}

type jsonField struct{ omitEmpty bool }

// jsonFields are the JSON member names encoding/json writes for struct type
// t (embedded structs' fields included), with whether each is omitempty.
func jsonFields(t reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for n, jf := range jsonFields(f.Type) {
				out[n] = jf
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty")}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
