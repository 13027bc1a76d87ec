package audit

import (
	"strconv"
	"strings"
)

// An alert the monitor raised (action alert.raised) goes to a SIEM as an
// OCSF 1.1 Detection Finding (class 2004), the shape SIEMs file findings
// under, rather than as API activity.
type ocsfFinding struct {
	ActivityID   int               `json:"activity_id"` // 1 Create
	ActivityName string            `json:"activity_name"`
	CategoryUID  int               `json:"category_uid"` // 2 Findings
	ClassUID     int               `json:"class_uid"`    // 2004 Detection Finding
	TypeUID      int               `json:"type_uid"`
	Time         int64             `json:"time"`
	SeverityID   int               `json:"severity_id"`
	Severity     string            `json:"severity"`
	StatusID     int               `json:"status_id"` // 1 New
	Status       string            `json:"status"`
	Message      string            `json:"message"`
	Metadata     ocsfMetadata      `json:"metadata"`
	FindingInfo  ocsfFindingInfo   `json:"finding_info"`
	Resources    []ocsfResource    `json:"resources,omitempty"`
	Evidences    []ocsfEvidence    `json:"evidences,omitempty"`
	Unmapped     map[string]string `json:"unmapped,omitempty"`
}

type ocsfFindingInfo struct {
	UID      string   `json:"uid"`
	Title    string   `json:"title"`
	Desc     string   `json:"desc,omitempty"`
	Types    []string `json:"types"`
	Analytic struct {
		UID    string `json:"uid"`
		Name   string `json:"name"`
		Type   string `json:"type"`
		TypeID int    `json:"type_id"` // 1 Rule
	} `json:"analytic"`
}

type ocsfEvidence struct {
	Data map[string]string `json:"data"`
}

var ocsfSeverities = map[string]struct {
	id   int
	name string
}{"low": {2, "Low"}, "medium": {3, "Medium"}, "high": {4, "High"}, "critical": {5, "Critical"}}

func ocsfDetection(ev *Event) ocsfFinding {
	d := ev.Details
	f := ocsfFinding{ActivityID: 1, ActivityName: "Create", CategoryUID: 2, ClassUID: 2004, TypeUID: 200401,
		Time: ev.Time.UnixMilli(), StatusID: 1, Status: "New", Message: d["title"] + ": " + d["detail"], Unmapped: d}
	f.SeverityID, f.Severity = 0, "Unknown"
	if s, ok := ocsfSeverities[d["severity"]]; ok {
		f.SeverityID, f.Severity = s.id, s.name
	}
	f.Metadata.Version = "1.1.0"
	f.Metadata.UID = strconv.FormatInt(ev.Index, 10)
	f.Metadata.Product.Name, f.Metadata.Product.VendorName = "modelgate", "modelgate"
	f.Metadata.LogName = "audit"
	f.FindingInfo.UID, f.FindingInfo.Title, f.FindingInfo.Desc = ev.Resource.ID, d["title"], d["detail"]
	f.FindingInfo.Types = []string{"modelgate monitor"}
	f.FindingInfo.Analytic.UID, f.FindingInfo.Analytic.Name = d["rule"], d["rule"]
	f.FindingInfo.Analytic.Type, f.FindingInfo.Analytic.TypeID = "Rule", 1
	if d["subject"] != "" {
		f.Resources = append(f.Resources, ocsfResource{Name: d["subject"], Type: d["by"]})
	}
	for _, idx := range strings.Split(d["events"], ",") {
		if idx != "" {
			f.Evidences = append(f.Evidences, ocsfEvidence{Data: map[string]string{"audit_index": idx}})
		}
	}
	return f
}
