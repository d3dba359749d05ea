package config

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"strings"
)

// Spring Boot's server.* properties besides server.port (command line only).
const (
	keyContextPath      = "server.servlet.context-path"
	keyCertificate      = "server.ssl.certificate"
	keyCertificateKey   = "server.ssl.certificate-private-key"
	keyTrustCertificate = "server.ssl.trust-certificate"
)

var serverKeys = map[string]bool{keyContextPath: true, keyCertificate: true, keyCertificateKey: true, keyTrustCertificate: true}

// validateServer normalises the context path and checks the TLS files, so a
// bad one stops start-up naming its key.
func (l *loader) validateServer(s *Server) {
	if p := strings.TrimSpace(s.ContextPath); p != "" {
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		p = strings.TrimRight(p, "/")
		switch {
		case strings.ContainsAny(p, " ?#%\\\t") || strings.Contains(p, "//"):
			l.fail(keyContextPath, l.from(keyContextPath), "%q is not a path such as /midpoint", s.ContextPath)
		case strings.Contains("/"+p+"/", "/../") || strings.Contains("/"+p+"/", "/./"):
			l.fail(keyContextPath, l.from(keyContextPath), "%q must not contain . or .. segments", s.ContextPath)
		}
		s.ContextPath = p
	}
	switch {
	case s.Certificate != "" && s.CertificateKey == "":
		l.fail(keyCertificateKey, l.from(keyCertificate), "is needed with %s (both PEM files, for HTTPS)", keyCertificate)
	case s.Certificate == "" && s.CertificateKey != "":
		l.fail(keyCertificate, l.from(keyCertificateKey), "is needed with %s (both PEM files, for HTTPS)", keyCertificateKey)
	case s.Certificate != "":
		if _, err := tls.LoadX509KeyPair(s.Certificate, s.CertificateKey); err != nil {
			l.fail(keyCertificate, l.from(keyCertificate), "with %s: %v", keyCertificateKey, err)
		}
	}
	if s.TrustCertificate != "" {
		data, err := os.ReadFile(s.TrustCertificate)
		if err != nil {
			l.fail(keyTrustCertificate, l.from(keyTrustCertificate), "%v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(data) {
			l.fail(keyTrustCertificate, l.from(keyTrustCertificate), "%s holds no PEM certificate", s.TrustCertificate)
		}
	}
}

// TrustPool is the system roots plus TrustCertificate, for verifying peers'
// https URLs. It is nil (the system roots) when no trust certificate is set.
func (s Server) TrustPool() (*x509.CertPool, error) {
	if s.TrustCertificate == "" {
		return nil, nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	data, err := os.ReadFile(s.TrustCertificate)
	if err != nil {
		return nil, err
	}
	pool.AppendCertsFromPEM(data)
	return pool, nil
}
