package node_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"cadre/node/nodetest"
)

// TestSlowClientsAreCut: a client that sends its body slowly is cut off
// after security/httpReadTimeout, and connections beyond
// security/maxConnections wait until one closes.
func TestSlowClientsAreCut(t *testing.T) {
	n := nodetest.Start(t, "sqlite", "-Dmidpoint.security.httpReadTimeout=2s", "-Dmidpoint.security.maxConnections=3")
	addr := strings.TrimPrefix(n.URL, "http://")

	t.Run("slow body", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
			t.Fatal(err)
		}
		// The server must close the connection by itself, long before this deadline.
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		_, err = io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("a connection sending its body slowly was still open after 30 s")
		}
	})

	t.Run("connection cap", func(t *testing.T) {
		var holders []net.Conn
		for range 3 {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			holders = append(holders, c)
		}
		client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 30 * time.Second}
		done := make(chan error, 1)
		go func() {
			resp, err := client.Get(n.URL + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = errors.New(resp.Status)
				}
			}
			done <- err
		}()
		// The server closes the silent holders after 2 s at the earliest;
		// until then the fourth connection must wait.
		select {
		case err := <-done:
			t.Fatalf("a fourth connection was served while three were open (err %v)", err)
		case <-time.After(500 * time.Millisecond):
		}
		for _, c := range holders {
			c.Close()
		}
		if err := <-done; err != nil {
			t.Fatalf("the waiting request failed once connections were free: %v", err)
		}
	})

	t.Run("served normally", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz: %v %v", resp, err)
		}
	})
}
