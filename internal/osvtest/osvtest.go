// Package osvtest writes OSV exports for tests: a zip of one JSON record
// per advisory, as OSV publishes them per ecosystem.
package osvtest

import (
	"archive/zip"
	"encoding/json"
	"os"
	"testing"
)

// Record is an OSV record: its fields as JSON.
type Record map[string]any

// Advisory returns a PyPI record for one package with one ECOSYSTEM range
// from events ("introduced", "0", "fixed", "2.4.0", ...), modified at a
// fixed date. Set more fields on the result as needed.
func Advisory(id, pkg string, events ...string) Record {
	var evs []map[string]string
	for i := 0; i+1 < len(events); i += 2 {
		evs = append(evs, map[string]string{events[i]: events[i+1]})
	}
	return Record{"schema_version": "1.6.0", "id": id, "modified": "2024-05-01T00:00:00Z", "summary": "flaw in " + pkg,
		"affected": []any{map[string]any{"package": map[string]string{"ecosystem": "PyPI", "name": pkg},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": evs}}}}}
}

// With returns r with a field set.
func (r Record) With(key string, value any) Record {
	r[key] = value
	return r
}

// Versions sets the affected versions OSV enumerates.
func (r Record) Versions(vs ...string) Record {
	r["affected"].([]any)[0].(map[string]any)["versions"] = vs
	return r
}

// Write writes the records as an export at path.
func Write(t testing.TB, path string, records ...Record) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, r := range records {
		w, err := zw.Create(r["id"].(string) + ".json")
		if err != nil {
			t.Fatal(err)
		}
		if err := json.NewEncoder(w).Encode(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
