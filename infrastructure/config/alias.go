package config

import "strings"

// keyAliases are other spellings of a key that midPoint's documentation uses:
// the seed writes -Dmidpoint.hostname and <hostname> for hostName.
var keyAliases = map[string]string{"hostname": "hostName"}

// canonicalKey returns the key an alias stands for, else key itself. A
// _FILE suffix is kept.
func canonicalKey(key string) string {
	base, suffix := key, ""
	if b, ok := strings.CutSuffix(key, fileSuffix); ok {
		base, suffix = b, fileSuffix
	}
	if k, ok := keyAliases[base]; ok {
		return k + suffix
	}
	return key
}
