# The default promotion gate. A model may be promoted (and served) only
# when no rule here denies it. Input: the model record (see docs/policy.md).
# Each denial is {"rule": ID, "msg": TEXT}: the ID names the rule for
# reports (SARIF), the text says what is wrong with this model.
#
# Every rule fails closed: a field that is missing or has the wrong type
# counts against the model, never for it. Tests of a field are written as
# helper rules negated with "not": a negated expression whose operand is
# undefined (not is_object(input.card) with no card) fails in Rego rather
# than succeeding, so it cannot be tested inline.
package modelgate.gate

import rego.v1

# Fairness limits for high-risk models: the absolute value of each metric
# must not exceed its limit.
fairness_limits := {
	"demographic_parity_difference": 0.1,
	"equalized_odds_difference": 0.1,
}

# Scan severities that block promotion.
blocking_severities := ["critical", "high"]

high_risk if input.risk_tier == "high"

# A risk tier we do not know is treated as high: an unknown tier must not
# skip the checks a high-risk model gets.
high_risk if not known_risk_tier

known_risk_tier if input.risk_tier in {"low", "medium", "high"}

signature_valid if input.signature.valid == true

deny contains {"rule": "unsigned", "msg": "the model is not signed"} if {
	not input.signature.signed == true
}

deny contains {"rule": "signature-invalid", "msg": msg} if {
	input.signature.signed == true
	not signature_valid
	msg := sprintf("the model's signature does not verify: %s", [object.get(input, ["signature", "error"], "no verification result")])
}

deny contains {"rule": "scan-findings", "msg": msg} if {
	some severity in blocking_severities
	n := object.get(input, ["scan", "by_severity", severity], 0)
	n != 0
	msg := sprintf("the model scan found %v %s finding(s)", [n, severity])
}

deny contains {"rule": "scan-unreadable", "msg": msg} if {
	n := input.scan.errors
	n != 0
	msg := sprintf("the model scan could not read %v file(s)", [n])
}

scanned if is_object(input.scan.by_severity)

deny contains {"rule": "never-scanned", "msg": "the model was never scanned"} if not scanned

card_complete if input.card.completeness >= 1

has_card if is_object(input.card)

deny contains {"rule": "card-incomplete", "msg": msg} if {
	has_card
	not card_complete
	missing := object.get(input.card, "missing", [])
	msg := sprintf("the model card is incomplete: missing %s", [concat(", ", missing)])
}

deny contains {"rule": "card-missing", "msg": "the model has no model card"} if not has_card

deny contains {"rule": "fairness-limit", "msg": msg} if {
	high_risk
	some metric, limit in fairness_limits
	value := input.metrics[metric]
	is_number(value)
	abs(value) > limit
	msg := sprintf("fairness metric %s is %v, beyond %v for a high-risk model", [metric, value, limit])
}

deny contains {"rule": "fairness-unreported", "msg": msg} if {
	high_risk
	some metric, _ in fairness_limits
	not reports_metric(metric)
	msg := sprintf("a high-risk model must report fairness metric %s", [metric])
}

reports_metric(metric) if is_number(input.metrics[metric])

has_threat_model if {
	is_string(input.threat_model)
	trim_space(input.threat_model) != ""
}

deny contains {"rule": "threat-model-missing", "msg": "a high-risk model needs a threat model"} if {
	high_risk
	not has_threat_model
}

# When the registry can check threat models (modelgate models promote
# does), a high-risk model's reference must be a threat model file, and
# any threat model referred to must pass: no open threat of high severity
# or above, no flow the audit log shows that it does not declare.
threat_model_checked if is_object(input.threat_model_check)

threat_model_resolved if input.threat_model_check.resolved == true

threat_model_passes if input.threat_model_check.passes == true

deny contains {"rule": "threat-model-unresolved", "msg": msg} if {
	high_risk
	has_threat_model
	threat_model_checked
	not threat_model_resolved
	msg := sprintf("the threat model %q is not a threat model file (modelgate threat init drafts one)", [input.threat_model])
}

deny contains {"rule": "threat-model-open", "msg": msg} if {
	threat_model_checked
	threat_model_resolved
	not threat_model_passes
	msg := sprintf("the threat model %s does not pass: %v open at high or above%s", [input.threat_model, object.get(input.threat_model_check, "open", {}), error_suffix(input.threat_model_check)])
}

error_suffix(c) := sprintf(" (%s)", [c.error]) if {
	is_string(c.error)
	c.error != ""
} else := ""

contract_acceptable(d) if d.contract in {"passed", "unchecked"}

# A dataset's contract status is "passed", "failed" or "unchecked" (no
# contract was given when it was registered); anything else is a failure.
deny contains {"rule": "dataset-contract", "msg": msg} if {
	some d in input.datasets
	not contract_acceptable(d)
	msg := sprintf("dataset %s fails its data contract (%v)", [d.name, object.get(d, "contract", "no status")])
}

# Dependencies declared beside the model (requirements, pyproject, locks)
# are checked against the vulnerability database when it is registered
# and at every gate check. An advisory that affects a declared, locked or
# installed version blocks promotion when it is critical, and for a
# high-risk model when it is high too; one a range may only resolve into
# does not. A malicious package always blocks.
dependency_blocking contains "critical"

dependency_blocking contains "high" if high_risk

has_dependencies if "dependencies" in object.keys(input)

dependencies_checked if {
	input.dependencies.checked == true
	is_object(input.dependencies.affected)
	is_number(input.dependencies.malicious)
}

deny contains {"rule": "dependencies-unchecked", "msg": msg} if {
	has_dependencies
	not dependencies_checked
	msg := sprintf("the model's dependencies were not checked for vulnerabilities: %v", [object.get(input, ["dependencies", "error"], "no result")])
}

deny contains {"rule": "dependency-vulnerable", "msg": msg} if {
	some severity in dependency_blocking
	n := object.get(input, ["dependencies", "affected", severity], 0)
	n != 0
	msg := sprintf("%v %s vulnerability advisory(ies) affect the model's dependencies", [n, severity])
}

deny contains {"rule": "dependency-malicious", "msg": msg} if {
	n := input.dependencies.malicious
	n != 0
	msg := sprintf("%v of the model's dependencies are malicious packages", [n])
}
