package sqlite

import (
	"database/sql"
	"time"
)

// Times are stored as Unix nanoseconds; the zero time is NULL.

func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

func fromNull(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }
