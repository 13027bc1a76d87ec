package classify

import (
	"strings"
	"testing"

	"github.com/modelgate/modelgate/datacheck/table"
)

func TestScan(t *testing.T) {
	csv := "id,contact,note,token\n" +
		"1,jane@example.com,hello there,none\n" +
		"2,+44 20 7946 0958,call me,none\n" +
		"3,bob@example.org,fine,ghp_8dKq2mZpX4vN7bR1sT6wY9cE3fH5jL0aQuIo\n" +
		"4,,,none\n"
	r, err := table.NewCSV(strings.NewReader(csv), 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(r, 0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Column{}
	for _, c := range rep.Columns {
		got[c.Name] = c
	}
	if c := got["token"]; c.Verdict != VerdictCredential || c.Entities["SECRET:GITHUB_PAT"] != 0.25 || c.Lines[0] != 4 {
		t.Errorf("token column %+v", c)
	}
	if c := got["contact"]; c.Verdict != VerdictPII || c.Values != 3 || c.Entities["EMAIL"] < 0.66 || c.Entities["PHONE"] < 0.33 {
		t.Errorf("contact column %+v", c)
	}
	if c := got["note"]; c.Verdict != VerdictNone {
		t.Errorf("note column %+v", c)
	}
	if rep.Verdict != VerdictCredential || rep.Rows != 4 || rep.Columns[0].Name != "token" {
		t.Errorf("report %+v", rep)
	}
}
