package config

import (
	"strings"
	"testing"
	"time"
)

// TestLoadCacheTTLs: both time-to-live keys take seconds as a plain number
// or Go durations, and a TTL of zero stops start-up naming the key.
func TestLoadCacheTTLs(t *testing.T) {
	f := setup(t)
	f.xmlFile("<repository>\n<globalCacheTtl>10</globalCacheTtl>\n</repository>\n<security>\n<principalCacheTtl>1500ms</principalCacheTtl>\n</security>")
	c := mustLoad(t, nil, f.env())
	if c.Repository.GlobalCacheTTL != 10*time.Second || c.Security.PrincipalCacheTTL != 1500*time.Millisecond {
		t.Errorf("TTLs %s and %s, want 10s (plain number = seconds) and 1.5s", c.Repository.GlobalCacheTTL, c.Security.PrincipalCacheTTL)
	}
	for _, key := range []string{"repository/globalCacheTtl", "security/principalCacheTtl"} {
		_, err := Load([]string{"-Dmidpoint." + strings.ReplaceAll(key, "/", ".") + "=0"}, setup(t).env())
		if ke := keyError(t, err); ke.Key != key || !strings.Contains(err.Error(), "must be longer than zero") {
			t.Errorf("%s=0: %v", key, err)
		}
	}
}
