package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"

	"github.com/modelgate/modelgate/access"
)

// sessionCookie names the console's session cookie.
const sessionCookie = "mg_console"

// session is a logged-in administrator.
type session struct {
	id        string
	csrf      string // the token every form of the session carries
	principal *access.Principal
	expires   time.Time
}

// sessions keeps the console's sessions in memory: a restart, or another
// replica, asks the administrator to log in again, and no session id is
// ever written anywhere.
type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]*session
}

// maxSessions bounds the sessions kept; logging in beyond it drops the
// oldest.
const maxSessions = 1000

func newToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *sessions) create(p *access.Principal, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*session{}
	}
	if len(s.m) >= maxSessions {
		var oldest *session
		for _, x := range s.m {
			if oldest == nil || x.expires.Before(oldest.expires) {
				oldest = x
			}
		}
		delete(s.m, oldest.id)
	}
	x := &session{id: newToken(), csrf: newToken(), principal: p, expires: now.Add(s.ttl)}
	s.m[x.id] = x
	return x
}

// get returns a live session by id.
func (s *sessions) get(id string, now time.Time) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.m[id]
	if x == nil {
		return nil
	}
	if !now.Before(x.expires) {
		delete(s.m, id)
		return nil
	}
	return x
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
}

// validCSRF compares a form's token with the session's in constant time.
func (x *session) validCSRF(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(x.csrf)) == 1
}
