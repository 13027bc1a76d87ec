package audit

import (
	"context"
	"time"
)

// System records something the gateway itself did (start, stop, retention).
func (l *Log) System(ctx context.Context, action string, details map[string]string) error {
	return l.Append(ctx, &Event{Time: time.Now(), Actor: Actor{Kind: ActorSystem, ID: "modelgate"},
		Action: action, Decision: Decision{Outcome: Allowed}, Details: details})
}

// maxUserAgent bounds the user agent kept in an event.
const maxUserAgent = 256

// TrimUserAgent bounds a user agent to what an event keeps of it.
func TrimUserAgent(s string) string {
	if len(s) > maxUserAgent {
		return s[:maxUserAgent]
	}
	return s
}
