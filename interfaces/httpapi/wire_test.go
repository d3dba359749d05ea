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
		{"BucketList", httpapi.BucketPageJSON{}},
		{"Checkpoint", httpapi.CheckpointJSON{}},
		{"Node", httpapi.NodeJSON{}},
		{"ExecutionLimit", httpapi.LimitJSON{}},
		{"User", httpapi.UserJSON{}},
		{"Role", httpapi.RoleJSON{}},
		{"Archetype", httpapi.DescribedJSON{}},
		{"ObjectTemplate", httpapi.DescribedJSON{}},
		{"Report", httpapi.ReportJSON{}},
		{"SystemConfiguration", httpapi.SystemConfigurationJSON{}},
		{"Case", httpapi.CaseJSON{}},
	}
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			s := resolveSchema(t, schemas, tc.schema)
			fields := jsonFields(reflect.TypeOf(tc.wire))
			for _, p := range sortedKeys(s.Properties) {
				if writeOnly(s.Properties[p]) {
					continue
				}
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

// TestObjectInputsMatchOpenAPI: every field a client may set on an object
// in a POST or PATCH body is one the OpenAPI schema of its type describes.
func TestObjectInputsMatchOpenAPI(t *testing.T) {
	schemas := openAPISchemas(t)
	tests := []struct {
		schema string
		input  any
	}{
		{"User", httpapi.UserInput{}},
		{"Role", httpapi.RoleInput{}},
		{"Archetype", httpapi.DescribedInput{}},
		{"ObjectTemplate", httpapi.DescribedInput{}},
		{"Report", httpapi.ReportInput{}},
		{"SystemConfiguration", httpapi.SystemConfigurationInput{}},
		{"Case", httpapi.CaseInput{}},
	}
	for _, tc := range tests {
		t.Run(tc.schema, func(t *testing.T) {
			s := resolveSchema(t, schemas, tc.schema)
			for _, name := range sortedKeys(jsonFields(reflect.TypeOf(tc.input))) {
				if _, ok := s.Properties[name]; !ok {
					t.Errorf("%T accepts %q that schema %s does not describe", tc.input, name, tc.schema)
				}
			}
		})
	}
}

// schema is the part of an OpenAPI schema the test compares.
type schema struct {
	Ref        string         `yaml:"$ref"`
	AllOf      []schema       `yaml:"allOf"`
	Required   []string       `yaml:"required"`
	Properties map[string]any `yaml:"properties"`
}

// resolveSchema returns the named schema with the properties and required
// members of its allOf parts (references followed) merged in.
func resolveSchema(t *testing.T, schemas map[string]schema, name string) schema {
	t.Helper()
	s, ok := schemas[name]
	if !ok {
		t.Fatalf("openapi.yaml has no schema %s", name)
	}
	out := schema{Required: slices.Clone(s.Required), Properties: map[string]any{}}
	for k, v := range s.Properties {
		out.Properties[k] = v
	}
	for _, part := range s.AllOf {
		if part.Ref != "" {
			part = resolveSchema(t, schemas, strings.TrimPrefix(part.Ref, "#/components/schemas/"))
		}
		out.Required = append(out.Required, part.Required...)
		for k, v := range part.Properties {
			out.Properties[k] = v
		}
	}
	return out
}

// writeOnly tells whether a property is only ever sent by clients (a
// password), so no response carries it.
func writeOnly(property any) bool {
	p, ok := property.(map[string]any)
	return ok && p["writeOnly"] == true
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
