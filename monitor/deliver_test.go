package monitor

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// smtpServer is the least of an SMTP server: it accepts one message and
// hands over what it was told.
func smtpServer(t *testing.T) (addr string, got <-chan string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		var talk strings.Builder
		r := bufio.NewReader(c)
		say := func(s string) { c.Write([]byte(s + "\r\n")) }
		say("220 localhost test")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			talk.WriteString(line)
			switch cmd := strings.ToUpper(strings.Fields(line + " x")[0]); cmd {
			case "EHLO", "HELO":
				say("250-localhost")
				say("250 AUTH PLAIN")
			case "AUTH":
				say("235 ok")
			case "DATA":
				say("354 go on")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if l == ".\r\n" {
						break
					}
					talk.WriteString(l)
				}
				say("250 queued")
			case "QUIT":
				say("221 bye")
				ch <- talk.String()
				return
			default:
				say("250 ok")
			}
		}
	}()
	return ln.Addr().String(), ch
}

func TestEmail(t *testing.T) {
	addr, got := smtpServer(t)
	e := &Email{SinkName: "mail", Address: addr, From: "modelgate@example.com", To: []string{"soc@example.com"}, Username: "u", Password: "p"}
	a := Alert{ID: "MON-X-1", Rule: "MON-X", Title: "Burst\r\nBcc: evil@example.com", Severity: "high", By: "ip", Subject: "192.0.2.1", Detail: "20 events", Events: []int64{3, 4}}
	if err := e.Deliver(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	select {
	case talk := <-got:
		for _, want := range []string{"AUTH PLAIN", "RCPT TO:<soc@example.com>", "Subject: [modelgate high] Burst  Bcc: evil@example.com: ip 192.0.2.1", "modelgate alerts show MON-X-1"} {
			if !strings.Contains(talk, want) {
				t.Errorf("the message lacks %q:\n%s", want, talk)
			}
		}
		if strings.Contains(talk, "\r\nBcc:") {
			t.Errorf("a header was injected:\n%s", talk)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message")
	}
}
