package audit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
)

// Export formats.
const (
	FormatJSONL  = "jsonl"  // the canonical event, exactly the leaf: verifiable
	FormatOCSF   = "ocsf"   // OCSF 1.1 API Activity (class 6003)
	FormatCEF    = "cef"    // ArcSight Common Event Format
	FormatSyslog = "syslog" // RFC 5424, the canonical event as the message
)

// ValidFormat reports whether f is an export format.
func ValidFormat(f string) bool {
	return f == FormatJSONL || f == FormatOCSF || f == FormatCEF || f == FormatSyslog
}

// Formatter renders events in one export format.
type Formatter struct {
	Format   string
	Hostname string // for syslog; empty: this machine's name
}

// Record renders one event, without a line terminator. data is the
// event's canonical JSON (the stored leaf).
func (f *Formatter) Record(ev *Event, data []byte) ([]byte, error) {
	switch f.Format {
	case FormatJSONL:
		return data, nil
	case FormatOCSF:
		if ev.Action == "alert.raised" {
			return json.Marshal(ocsfDetection(ev))
		}
		return json.Marshal(ocsf(ev))
	case FormatCEF:
		return cef(ev), nil
	case FormatSyslog:
		return f.syslog(ev, data), nil
	}
	return nil, fmt.Errorf("unknown export format %q (jsonl, ocsf, cef, syslog)", f.Format)
}

// ocsfEvent is the OCSF 1.1 API Activity object.
type ocsfEvent struct {
	ActivityID   int               `json:"activity_id"`
	ActivityName string            `json:"activity_name"`
	CategoryUID  int               `json:"category_uid"`
	ClassUID     int               `json:"class_uid"`
	TypeUID      int               `json:"type_uid"`
	Time         int64             `json:"time"`
	SeverityID   int               `json:"severity_id"`
	StatusID     int               `json:"status_id"`
	Status       string            `json:"status"`
	StatusDetail string            `json:"status_detail,omitempty"`
	Message      string            `json:"message"`
	Metadata     ocsfMetadata      `json:"metadata"`
	Actor        ocsfActor         `json:"actor"`
	API          ocsfAPI           `json:"api"`
	SrcEndpoint  *ocsfEndpoint     `json:"src_endpoint,omitempty"`
	HTTPRequest  *ocsfHTTPRequest  `json:"http_request,omitempty"`
	Resources    []ocsfResource    `json:"resources,omitempty"`
	Unmapped     map[string]string `json:"unmapped,omitempty"`
}

type ocsfMetadata struct {
	Version string `json:"version"`
	UID     string `json:"uid"`
	Product struct {
		Name       string `json:"name"`
		VendorName string `json:"vendor_name"`
	} `json:"product"`
	LogName string `json:"log_name"`
}

type ocsfActor struct {
	User struct {
		UID    string `json:"uid,omitempty"`
		Type   string `json:"type"`
		TypeID int    `json:"type_id"`
	} `json:"user"`
}

type ocsfAPI struct {
	Operation string `json:"operation"`
	Request   struct {
		UID string `json:"uid,omitempty"`
	} `json:"request"`
	Response *struct {
		Code int `json:"code"`
	} `json:"response,omitempty"`
}

type ocsfEndpoint struct {
	IP string `json:"ip"`
}

type ocsfHTTPRequest struct {
	HTTPMethod string `json:"http_method"`
	UserAgent  string `json:"user_agent,omitempty"`
	URL        struct {
		Path string `json:"path"`
	} `json:"url"`
}

type ocsfResource struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
	Type string `json:"type"`
}

func ocsf(ev *Event) ocsfEvent {
	o := ocsfEvent{CategoryUID: 6, ClassUID: 6003, Time: ev.Time.UnixMilli(), Message: describe(ev)}
	o.ActivityID, o.ActivityName = ocsfActivity(ev.Action)
	o.TypeUID = o.ClassUID*100 + o.ActivityID
	o.StatusID, o.Status, o.SeverityID = 1, "Success", 1
	if ev.Decision.Outcome != Allowed {
		o.StatusID, o.Status, o.StatusDetail, o.SeverityID = 2, "Failure", ev.Decision.Reason, 3
	}
	o.Metadata.Version = "1.1.0"
	o.Metadata.UID = strconv.FormatInt(ev.Index, 10)
	o.Metadata.Product.Name, o.Metadata.Product.VendorName = "modelgate", "modelgate"
	o.Metadata.LogName = "audit"
	o.Actor.User.UID = ev.Actor.ID
	switch ev.Actor.Kind {
	case ActorAdmin:
		o.Actor.User.Type, o.Actor.User.TypeID = "Admin", 2
	case ActorSystem:
		o.Actor.User.Type, o.Actor.User.TypeID = "System", 3
	case ActorAnonymous:
		o.Actor.User.Type, o.Actor.User.TypeID = "Unknown", 0
	default:
		o.Actor.User.Type, o.Actor.User.TypeID = "User", 1
	}
	o.API.Operation = ev.Action
	o.API.Request.UID = ev.RequestID
	if ev.HTTP != nil {
		o.API.Response = &struct {
			Code int `json:"code"`
		}{ev.HTTP.Status}
		o.HTTPRequest = &ocsfHTTPRequest{HTTPMethod: ev.HTTP.Method, UserAgent: ev.Actor.UserAgent}
		o.HTTPRequest.URL.Path = ev.HTTP.Path
	}
	if ev.Actor.IP != "" {
		o.SrcEndpoint = &ocsfEndpoint{IP: ev.Actor.IP}
	}
	if ev.Resource.Model != "" {
		o.Resources = append(o.Resources, ocsfResource{Name: ev.Resource.Model, UID: ev.Resource.ModelVersion, Type: "model"})
	}
	if ev.Resource.ID != "" {
		o.Resources = append(o.Resources, ocsfResource{UID: ev.Resource.ID, Type: strings.SplitN(ev.Action, ".", 2)[0]})
	}
	if len(ev.Details) > 0 {
		o.Unmapped = ev.Details
	}
	return o
}

// ocsfActivity maps an action to an API Activity activity.
func ocsfActivity(action string) (int, string) {
	switch {
	case strings.HasSuffix(action, ".create"):
		return 1, "Create"
	case strings.HasSuffix(action, ".read"), action == ActionHealthCheck:
		return 2, "Read"
	case strings.HasSuffix(action, ".update"), strings.HasSuffix(action, ".rotate"):
		return 3, "Update"
	case strings.HasSuffix(action, ".delete"), strings.HasSuffix(action, ".revoke"), action == ActionErase, action == ActionRetention:
		return 4, "Delete"
	}
	return 99, "Other"
}

// describe is a one-line summary for humans.
func describe(ev *Event) string {
	who := ev.Actor.Kind
	if ev.Actor.ID != "" {
		who += ":" + ev.Actor.ID
	}
	s := fmt.Sprintf("%s %s by %s", ev.Action, ev.Decision.Outcome, who)
	if ev.Resource.Model != "" {
		s += " on " + ev.Resource.Model
	}
	if ev.Decision.Reason != "" {
		s += " (" + ev.Decision.Reason + ")"
	}
	return s
}

// cef renders ArcSight CEF:
// CEF:0|Vendor|Product|Version|Signature|Name|Severity|Extension
func cef(ev *Event) []byte {
	sev := "3"
	switch ev.Decision.Outcome {
	case Denied:
		sev = "6"
	case Failed:
		sev = "5"
	}
	var b strings.Builder
	b.WriteString("CEF:0|modelgate|modelgate|1|")
	b.WriteString(cefHeader(ev.Action))
	b.WriteByte('|')
	b.WriteString(cefHeader(describe(ev)))
	b.WriteByte('|')
	b.WriteString(sev)
	b.WriteByte('|')
	// Custom fields come with a label, written only with the value.
	type field struct{ key, value, label string }
	ext := []field{
		{"rt", strconv.FormatInt(ev.Time.UnixMilli(), 10), ""},
		{"externalId", ev.RequestID, ""},
		{"cn1", strconv.FormatInt(ev.Index, 10), "auditIndex"},
		{"suser", ev.Actor.ID, ""}, {"cs1", ev.Actor.Kind, "actorKind"},
		{"src", ev.Actor.IP, ""}, {"requestClientApplication", ev.Actor.UserAgent, ""},
		{"act", ev.Action, ""}, {"outcome", ev.Decision.Outcome, ""}, {"reason", ev.Decision.Reason, ""},
		{"cs2", ev.Resource.Model, "model"},
		{"cs3", ev.Resource.ModelVersion, "modelVersion"},
	}
	if ev.HTTP != nil {
		ext = append(ext, field{"requestMethod", ev.HTTP.Method, ""}, field{"request", ev.HTTP.Path, ""},
			field{"cn2", strconv.Itoa(ev.HTTP.Status), "httpStatus"})
	}
	first := true
	put := func(k, v string) {
		if !first {
			b.WriteByte(' ')
		}
		first = false
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(cefValue(v))
	}
	for _, f := range ext {
		if f.value == "" {
			continue
		}
		if f.label != "" {
			put(f.key+"Label", f.label)
		}
		put(f.key, f.value)
	}
	return []byte(b.String())
}

var (
	cefHeaderEscaper = strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\n", " ", "\r", " ")
	cefValueEscaper  = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\n", `\n`, "\r", `\r`)
)

func cefHeader(s string) string { return cefHeaderEscaper.Replace(s) }
func cefValue(s string) string  { return cefValueEscaper.Replace(s) }

// syslog renders RFC 5424 with the canonical event as the message:
// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
// PROCID is "-": the record may be exported long after, by another
// process than the one that wrote the event. The facility is 13 (log audit); the severity 6 (informational) for
// allowed, 4 (warning) for denied and 3 (error) for failed.
func (f *Formatter) syslog(ev *Event, data []byte) []byte {
	sev := 6
	switch ev.Decision.Outcome {
	case Denied:
		sev = 4
	case Failed:
		sev = 3
	}
	host := f.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	host = syslogToken(host, 255)
	msgID := syslogToken(ev.Action, 32)
	b := fmt.Appendf(nil, "<%d>1 %s %s modelgate - %s - ", 13*8+sev,
		ev.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"), host, msgID)
	return append(b, data...)
}

// syslogToken makes s a valid RFC 5424 header field: printable ASCII
// without spaces, at most n characters, "-" when empty.
func syslogToken(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 33 || r > 126 {
			return '_'
		}
		return r
	}, s)
	if len(s) > n {
		s = s[:n]
	}
	if s == "" {
		return "-"
	}
	return s
}

// ParseEvent decodes a stored leaf.
func ParseEvent(data []byte) (*Event, error) {
	var ev Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return nil, err
	}
	return &ev, nil
}

// CheckpointRecordType marks a forwarded checkpoint record: forwarders
// send each new signed checkpoint after the events it covers, so the SIEM
// holds an outside copy of the log's newest checkpoint (a witness that
// `audit verify --witness` can read back from a JSON-lines export).
const CheckpointRecordType = "audit.checkpoint"

// checkpointRecord is the JSON shape of a forwarded checkpoint.
type checkpointRecord struct {
	Type       string `json:"type"`
	Origin     string `json:"origin"`
	Size       int64  `json:"size"`
	RootHash   string `json:"root_hash"`
	Checkpoint string `json:"checkpoint"` // the signed note
}

// Checkpoint renders a signed checkpoint as a record, without a line
// terminator: JSON for jsonl and ocsf, a CEF event, or syslog with the
// JSON as its message.
func (f *Formatter) Checkpoint(cp *Checkpoint) ([]byte, error) {
	rec := checkpointRecord{Type: CheckpointRecordType, Origin: cp.Origin, Size: cp.Tree.N,
		RootHash: cp.Tree.Hash.String(), Checkpoint: string(cp.Note)}
	data, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	switch f.Format {
	case FormatJSONL, FormatOCSF:
		return data, nil
	case FormatCEF:
		return fmt.Appendf(nil, "CEF:0|modelgate|modelgate|1|%s|audit log checkpoint|1|cn1Label=treeSize cn1=%d cs1Label=origin cs1=%s cs2Label=rootHash cs2=%s cs3Label=checkpoint cs3=%s",
			CheckpointRecordType, cp.Tree.N, cefValue(cp.Origin), cefValue(rec.RootHash), cefValue(string(cp.Note))), nil
	case FormatSyslog:
		host := f.Hostname
		if host == "" {
			host, _ = os.Hostname()
		}
		b := fmt.Appendf(nil, "<%d>1 %s %s modelgate - %s - ", 13*8+6,
			time.Now().UTC().Format("2006-01-02T15:04:05.000000Z07:00"), syslogToken(host, 255), CheckpointRecordType)
		return append(b, data...), nil
	}
	return nil, fmt.Errorf("unknown export format %q (jsonl, ocsf, cef, syslog)", f.Format)
}
