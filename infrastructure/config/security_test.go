package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestSecurityKeys: the resource directories and the access settings of
// /metrics and openapi.yaml have safe defaults and can be set (the token from
// a file, as secrets are).
func TestSecurityKeys(t *testing.T) {
	f := setup(t)
	c := mustLoad(t, nil, f.env())
	if want := []string{filepath.Join(f.dir, "resources")}; !slices.Equal(c.Resources.AllowedDirectories, want) {
		t.Errorf("default allowedDirectories = %v, want %v", c.Resources.AllowedDirectories, want)
	}
	if c.Security.MetricsAccess != "loopback" || c.Security.OpenAPIAccess != "open" || c.Security.MetricsToken != "" {
		t.Errorf("default security = %+v, want metrics on the loopback only and openapi open", c.Security)
	}

	token := f.write("token", "s3cret-token\n")
	c = mustLoad(t, []string{
		"-Dmidpoint.resources.allowedDirectories=${midpoint.home}/in, /srv/feeds ,",
		"-Dmidpoint.security.metricsAccess=login",
		"-Dmidpoint.security.metricsToken_FILE=" + token,
		"-Dmidpoint.security.openapiAccess=LOGIN",
	}, f.env())
	if want := []string{f.dir + "/in", "/srv/feeds"}; !slices.Equal(c.Resources.AllowedDirectories, want) {
		t.Errorf("allowedDirectories = %v, want %v", c.Resources.AllowedDirectories, want)
	}
	if c.Security.MetricsAccess != "login" || c.Security.MetricsToken != "s3cret-token" || c.Security.OpenAPIAccess != "login" {
		t.Errorf("security = %+v", c.Security)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %v", c.Warnings)
	}

	_, err := Load([]string{"-Dmidpoint.security.metricsAccess=everyone"}, f.env())
	if ke := keyError(t, err); ke.Key != "security/metricsAccess" || !strings.Contains(ke.Msg, "loopback, open, login") {
		t.Errorf("error %v, want one naming security/metricsAccess and its values", err)
	}
}
