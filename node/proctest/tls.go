package proctest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TLSFiles writes, under t.TempDir(), a test certificate authority and a
// server certificate it signed for localhost, 127.0.0.1 and hosts, as PEM
// files for -Dserver.ssl.trust-certificate, -Dserver.ssl.certificate and
// -Dserver.ssl.certificate-private-key.
func TLSFiles(t testing.TB, hosts ...string) (ca, cert, key string) {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cadre test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "cadre test node"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, h)
		}
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("cert.pem", "CERTIFICATE", srvDER), write("key.pem", "EC PRIVATE KEY", keyDER)
}

// serving reads how a node started with args is reached: https when
// -Dserver.ssl.certificate is set (trusting -Dserver.ssl.trust-certificate
// when given), under -Dserver.servlet.context-path.
func serving(args []string) (scheme, path string, tlsConfig *tls.Config, err error) {
	scheme = "http"
	for _, a := range args {
		name, value, _ := strings.Cut(strings.TrimPrefix(a, "-D"), "=")
		switch name {
		case "server.ssl.certificate":
			scheme = "https"
		case "server.servlet.context-path":
			path = "/" + strings.Trim(value, "/")
			if path == "/" {
				path = ""
			}
		case "server.ssl.trust-certificate":
			data, rerr := os.ReadFile(value)
			if rerr != nil {
				return "", "", nil, fmt.Errorf("read %s: %w", value, rerr)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(data) {
				return "", "", nil, fmt.Errorf("%s holds no PEM certificate", value)
			}
			tlsConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	return scheme, path, tlsConfig, nil
}

// clientFor is the harness's HTTP client for a node reached over tlsConfig:
// like the default one, no redirects followed and no connection reused.
func clientFor(tlsConfig *tls.Config) *http.Client {
	if tlsConfig == nil {
		return httpClient
	}
	return &http.Client{
		Timeout:       RequestTimeout,
		Transport:     &http.Transport{DisableKeepAlives: true, TLSClientConfig: tlsConfig},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
