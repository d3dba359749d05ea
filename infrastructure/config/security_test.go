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

// TestStartupMistakesNameTheKey: values that used to be accepted, or to fail
// only later with exit status 1, stop Load with a KeyError naming the key.
func TestStartupMistakesNameTheKey(t *testing.T) {
	f := setup(t)
	for _, tc := range []struct {
		arg, key, msg string
	}{
		{"-Dmidpoint.taskManager.threads=100000000", "taskManager/threads", "out of range 1..1000"},
		{"-Dmidpoint.taskManager.workerThreadsPerNode=5000", "taskManager/workerThreadsPerNode", "out of range"},
		{"-Dmidpoint.repository.maxPoolSize=99999999", "repository/maxPoolSize", "out of range"},
		{"-Dmidpoint.nodeId=${sequence:9:1:node%d}", "nodeId", "sequence needs start:end"},
		{"-Dmidpoint.nodeId=${sequence:0:99999999999:node%d}", "nodeId", "sequence"},
		{"-Dmidpoint.nodeId=${random:number:5:1}", "nodeId", "random needs number:lo:hi"},
		{"-Dmidpoint.nodeId=${random:number:0:9223372036854775807}", "nodeId", "random needs"},
		{"-Dmidpoint.nodeId=node-${nonsense}", "nodeId", "unknown expression"},
		{"-Dmidpoint.taskManager.nodeRegistrationInterval=9223372036854775807", "taskManager/nodeRegistrationInterval", "too long"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			_, err := Load([]string{tc.arg}, f.env())
			ke := keyError(t, err)
			if ke.Key != tc.key || !strings.Contains(ke.Msg, tc.msg) {
				t.Fatalf("error %v, want key %s and %q", err, tc.key, tc.msg)
			}
		})
	}
	if _, err := Load([]string{"-Dmidpoint.nodeId=${sequence:1:9:node%d}", "-Dmidpoint.taskManager.threads=1000"}, f.env()); err != nil {
		t.Fatalf("valid values: %v", err)
	}
}
