package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a self-signed certificate and its key as PEM files.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func TestServerProperties(t *testing.T) {
	f := setup(t)
	cert, key := selfSigned(t, f.dir)
	c := mustLoad(t, []string{"-Dserver.servlet.context-path=midpoint/", "-Dserver.ssl.certificate=" + cert,
		"-Dserver.ssl.certificate-private-key=" + key, "-Dserver.ssl.trust-certificate=" + cert}, f.env())
	if c.Server.ContextPath != "/midpoint" || !c.Server.TLS() || c.Server.TrustCertificate != cert || len(c.Warnings) != 0 {
		t.Fatalf("server = %+v, warnings %q", c.Server, c.Warnings)
	}
	if pool, err := c.Server.TrustPool(); err != nil || pool == nil {
		t.Fatalf("trust pool: %v, %v", pool, err)
	}
	if c := mustLoad(t, []string{"-Dserver.servlet.context-path=/"}, f.env()); c.Server.ContextPath != "" {
		t.Errorf("context path / = %q, want served at the root", c.Server.ContextPath)
	}

	notPEM := f.write("notpem.txt", "hello")
	tests := []struct {
		name    string
		args    []string
		wantKey string
		wantMsg string
	}{
		{"dot-dot in the context path", []string{"-Dserver.servlet.context-path=/a/../b"}, keyContextPath, "must not contain . or .. segments"},
		{"query in the context path", []string{"-Dserver.servlet.context-path=/a?b"}, keyContextPath, "is not a path such as /midpoint"},
		{"certificate without key", []string{"-Dserver.ssl.certificate=" + cert}, keyCertificateKey, "is needed with server.ssl.certificate"},
		{"key without certificate", []string{"-Dserver.ssl.certificate-private-key=" + key}, keyCertificate, "is needed with server.ssl.certificate-private-key"},
		{"key that is not a key", []string{"-Dserver.ssl.certificate=" + cert, "-Dserver.ssl.certificate-private-key=" + notPEM}, keyCertificate, "with server.ssl.certificate-private-key"},
		{"missing trust file", []string{"-Dserver.ssl.trust-certificate=/no/such.pem"}, keyTrustCertificate, "no such file"},
		{"trust file without a certificate", []string{"-Dserver.ssl.trust-certificate=" + notPEM}, keyTrustCertificate, "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.args, f.env())
			ke := keyError(t, err)
			if ke.Key != tt.wantKey || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("error %v; want key %s and %q", err, tt.wantKey, tt.wantMsg)
			}
		})
	}
}
