package forward

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// Syslog sends records over TCP, or TLS when TLS is set, framed by octet
// counting (RFC 6587, as RFC 5425 requires for TLS): "LEN SP MSG".
type Syslog struct {
	Address string
	TLS     *tls.Config // nil: plain TCP
	Timeout time.Duration

	mu   sync.Mutex
	conn net.Conn
}

// Send writes the records; on any error the connection is dropped and
// the next Send reconnects and writes the whole batch again.
func (s *Syslog) Send(ctx context.Context, records [][]byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	s.conn.SetWriteDeadline(time.Now().Add(timeout))
	var buf []byte
	for _, r := range records {
		buf = strconv.AppendInt(buf, int64(len(r)), 10)
		buf = append(buf, ' ')
		buf = append(buf, r...)
	}
	if _, err := s.conn.Write(buf); err != nil {
		s.conn.Close()
		s.conn = nil
		return fmt.Errorf("syslog %s: %w", s.Address, err)
	}
	return nil
}

func (s *Syslog) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	var (
		c   net.Conn
		err error
	)
	if s.TLS != nil {
		c, err = (&tls.Dialer{NetDialer: d, Config: s.TLS}).DialContext(ctx, "tcp", s.Address)
	} else {
		c, err = d.DialContext(ctx, "tcp", s.Address)
	}
	if err != nil {
		return fmt.Errorf("syslog %s: %w", s.Address, err)
	}
	s.conn = c
	return nil
}

// Close closes the connection.
func (s *Syslog) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		err := s.conn.Close()
		s.conn = nil
		return err
	}
	return nil
}
