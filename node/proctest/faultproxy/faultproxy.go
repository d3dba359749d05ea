// Package faultproxy is a TCP proxy for fault tests: it sits between Cadre
// nodes and PostgreSQL on a loopback port and, on command, refuses new
// connections, resets every open one, delays traffic, swallows it (a
// blackhole, which is what a hung network or a frozen server looks like),
// or answers new connections with a PostgreSQL error such as "too many
// clients". It only ever listens on and dials loopback addresses.
package faultproxy

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"
)

// Proxy forwards connections from Addr to a target address.
type Proxy struct {
	target string
	addr   string // 127.0.0.1:port, kept across Refuse and Accept

	mu        sync.Mutex
	ln        net.Listener // nil while refusing
	conns     map[*pair]struct{}
	latency   time.Duration
	holes     chan struct{} // closed when the blackhole ends; nil when there is none
	rejection *Rejection
	closed    bool
	wg        sync.WaitGroup
}

// Rejection is a PostgreSQL error sent to every new connection instead of
// forwarding it (SQLSTATE and message as the server would send them).
type Rejection struct {
	Code    string
	Message string
}

// Errors a real PostgreSQL sends before a session starts.
var (
	// TooManyClients is what a server at max_connections answers.
	TooManyClients = Rejection{Code: "53300", Message: "sorry, too many clients already"}
	// StartingUp is what a restarting server answers until recovery ends.
	StartingUp = Rejection{Code: "57P03", Message: "the database system is starting up"}
)

// Start listens on a free loopback port and forwards to target (host:port,
// which must be a loopback address).
func Start(target string) (*Proxy, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		return nil, fmt.Errorf("fault proxy target %q: %w", target, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("fault proxy target %q: only loopback targets are allowed", target)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault proxy listen: %w", err)
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), ln: ln, conns: make(map[*pair]struct{})}
	p.serve(ln)
	return p, nil
}

// Addr is host:port where the proxy listens.
func (p *Proxy) Addr() string { return p.addr }

// Port is the port where the proxy listens.
func (p *Proxy) Port() int {
	_, port, _ := net.SplitHostPort(p.addr)
	n, _ := strconv.Atoi(port)
	return n
}

// Refuse closes the listening socket, so that new connections are refused
// (ECONNREFUSED) until Accept; open connections are left alone.
func (p *Proxy) Refuse() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
}

// Accept listens again on the same port after Refuse.
func (p *Proxy) Accept() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil || p.closed {
		return nil
	}
	var err error
	for range 50 { // the port may linger a moment after the close
		var ln net.Listener
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			p.ln = ln
			p.serve(ln)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("fault proxy listen again on %s: %w", p.addr, err)
}

// Reset ends every open connection with a TCP reset, as a database restart
// or a terminated backend looks to a client. It returns how many it reset.
func (p *Proxy) Reset() int {
	p.mu.Lock()
	conns := make([]*pair, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	for _, c := range conns {
		c.reset()
	}
	return len(conns)
}

// SetLatency delays every chunk of data by d in each direction (0 removes
// the delay). Order is kept.
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.latency = d
}

// Blackhole stops delivering data in both directions, on open and new
// connections, until the returned function is called; data sent meanwhile
// is delivered afterwards, as TCP retransmits it after a network hang.
func (p *Proxy) Blackhole() (lift func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.holes == nil {
		p.holes = make(chan struct{})
	}
	ch := p.holes
	var once sync.Once
	return func() {
		once.Do(func() {
			p.mu.Lock()
			if p.holes == ch {
				p.holes = nil
			}
			p.mu.Unlock()
			close(ch)
		})
	}
}

// Reject answers every new connection with r (after reading its startup
// message) and closes it, until Reject(nil). Open connections are left alone.
func (p *Proxy) Reject(r *Rejection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rejection = r
}

// Open is the number of connections the proxy forwards right now.
func (p *Proxy) Open() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Close stops listening, resets every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	if p.holes != nil {
		close(p.holes)
		p.holes = nil
	}
	p.mu.Unlock()
	p.Reset()
	p.wg.Wait()
}

func (p *Proxy) serve(ln net.Listener) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Refuse or Close
			}
			p.wg.Add(1)
			go func() {
				defer p.wg.Done()
				p.handle(c)
			}()
		}
	}()
}

func (p *Proxy) handle(client net.Conn) {
	p.mu.Lock()
	rej := p.rejection
	p.mu.Unlock()
	if rej != nil {
		reject(client, *rej)
		return
	}
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	c := &pair{client: client.(*net.TCPConn), server: server.(*net.TCPConn)}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		c.reset()
		return
	}
	p.conns[c] = struct{}{}
	p.mu.Unlock()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(c, c.server, c.client) }()
	go func() { defer wg.Done(); p.pipe(c, c.client, c.server) }()
	wg.Wait()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

// chunk is data read at a time, delivered after the latency.
type chunk struct {
	data []byte
	at   time.Time
}

// pipe copies from src to dst through a queue, so that latency delays the
// data without slowing the reader, and a blackhole holds it back.
func (p *Proxy) pipe(c *pair, dst, src *net.TCPConn) {
	queue := make(chan chunk, 1024)
	go func() {
		defer close(queue)
		for {
			buf := make([]byte, 32<<10)
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{data: buf[:n], at: time.Now()}
			}
			if err != nil {
				return
			}
		}
	}()
	for ch := range queue {
		p.mu.Lock()
		delay, hole := p.latency, p.holes
		p.mu.Unlock()
		if hole != nil {
			<-hole
		}
		if wait := time.Until(ch.at.Add(delay)); wait > 0 {
			time.Sleep(wait)
		}
		if _, err := dst.Write(ch.data); err != nil {
			break
		}
	}
	c.reset()
	for range queue { // let the reader end
	}
}

// pair is one forwarded connection.
type pair struct {
	client, server *net.TCPConn
	once           sync.Once
}

func (c *pair) reset() {
	c.once.Do(func() {
		_ = c.client.SetLinger(0) // close sends RST, not FIN
		_ = c.server.SetLinger(0)
		_ = c.client.Close()
		_ = c.server.Close()
	})
}

// reject reads a PostgreSQL startup message from c (answering an SSL or
// GSS encryption request with "no" first) and sends r as a FATAL
// ErrorResponse, as the server does when it refuses a session.
func reject(c net.Conn, r Rejection) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	for range 3 {
		var hdr [8]byte
		if _, err := io.ReadFull(c, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		if n < 8 || n > 10000 {
			return
		}
		if _, err := io.CopyN(io.Discard, c, int64(n-8)); err != nil {
			return
		}
		code := binary.BigEndian.Uint32(hdr[4:])
		if code == 80877103 || code == 80877104 { // SSLRequest, GSSENCRequest
			if _, err := c.Write([]byte{'N'}); err != nil {
				return
			}
			continue
		}
		break
	}
	_, _ = c.Write(errorResponse(r))
}

func errorResponse(r Rejection) []byte {
	var body []byte
	for _, f := range []struct {
		typ byte
		val string
	}{{'S', "FATAL"}, {'V', "FATAL"}, {'C', r.Code}, {'M', r.Message}} {
		body = append(body, f.typ)
		body = append(body, f.val...)
		body = append(body, 0)
	}
	body = append(body, 0)
	msg := []byte{'E', 0, 0, 0, 0}
	binary.BigEndian.PutUint32(msg[1:], uint32(len(body)+4))
	return append(msg, body...)
}
