package operator

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func readRepoFile(t *testing.T, rel string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// exampleKeys lists the leaf elements of config.example.xml under
// <midpoint>, as paths ("taskManager/nodeTimeout").
func exampleKeys(t *testing.T) []string {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(readRepoFile(t, "config.example.xml")))
	var path []string
	var keys []string
	leaf := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return keys
		}
		if err != nil {
			t.Fatal(err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			path = append(path, e.Name.Local)
			leaf = true
		case xml.EndElement:
			if leaf && len(path) > 2 { // configuration/midpoint/…
				keys = append(keys, strings.Join(path[2:], "/"))
			}
			leaf = false
			path = path[:len(path)-1]
		}
	}
}

// TestReferenceDocs: the repository carries its own reference — every key
// of config.example.xml in docs/configuration.md, every path of the API
// description in docs/http-api.md — and the README points at it, not at
// files a clone does not have.
func TestReferenceDocs(t *testing.T) {
	conf := readRepoFile(t, "docs/configuration.md")
	keys := exampleKeys(t)
	if len(keys) < 20 {
		t.Fatalf("read only %d keys from config.example.xml: %v", len(keys), keys)
	}
	for _, k := range keys {
		short := k[strings.LastIndex(k, "/")+1:]
		if !strings.Contains(conf, "`"+k+"`") && !strings.Contains(conf, "`"+short+"`") {
			t.Errorf("docs/configuration.md does not describe %s", k)
		}
	}

	api := readRepoFile(t, "docs/http-api.md")
	paths := regexp.MustCompile(`(?m)^  (/[^:]*):`).FindAllStringSubmatch(readRepoFile(t, "interfaces/httpapi/openapi.yaml"), -1)
	if len(paths) < 10 {
		t.Fatalf("read only %d paths from openapi.yaml", len(paths))
	}
	for _, p := range paths {
		if !strings.Contains(api, p[1]) {
			t.Errorf("docs/http-api.md does not mention %s", p[1])
		}
	}

	readme := readRepoFile(t, "README.md")
	if strings.Contains(readme, "../shared") {
		t.Error("README.md points at ../shared, which a clone does not have")
	}
	for _, want := range []string{"docs/configuration.md", "docs/http-api.md", "docs/states.md",
		"cadre admin reset-password", "/metrics", "openapi.yaml", `"roles":["Reader"]`, "make test"} {
		if !strings.Contains(readme, want) {
			t.Errorf("README.md does not mention %s", want)
		}
	}
}
