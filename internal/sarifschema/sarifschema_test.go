package sarifschema

import "testing"

func TestValidate(t *testing.T) {
	good := `{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":[]}},"results":[]}]}`
	if err := Validate([]byte(good)); err != nil {
		t.Fatalf("a minimal log: %v", err)
	}
	for _, bad := range []string{
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x","rules":null}},"results":[]}]}`,
		`{"version":"2.0.0","runs":[]}`,
		`{"runs":[]}`,
		`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"invocations":[{"executionSuccessful":true,"toolExecutionNotifications":null}]}]}`,
	} {
		if err := Validate([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}
