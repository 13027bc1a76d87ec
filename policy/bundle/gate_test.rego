package modelgate.gate_test

import rego.v1

import data.modelgate.gate

# A record that passes every rule.
good := {
	"signature": {"signed": true, "valid": true},
	"scan": {"by_severity": {"medium": 2, "low": 1}},
	"card": {"completeness": 1, "missing": []},
	"risk_tier": "high",
	"metrics": {"demographic_parity_difference": 0.03, "equalized_odds_difference": -0.05, "accuracy": 0.9},
	"threat_model": "TM-42",
	"datasets": [{"name": "fraud@3", "contract": "passed"}, {"name": "raw@1", "contract": "unchecked"}],
}

# messages are the denials' texts.
messages := {d.msg | some d in gate.deny}

# rules are the denying rules' ids.
rules := {d.rule | some d in gate.deny}

# replaced returns the good record with field k replaced by v (object.union
# would merge nested objects, keeping fields a test means to drop).
replaced(k, v) := object.union(object.remove(good, [k]), {k: v})

test_good_record_is_allowed if {
	count(gate.deny) == 0 with input as good
}

test_unsigned_is_denied if {
	"the model is not signed" in messages with input as replaced("signature", {"signed": false})
}

test_bad_signature_is_denied if {
	some msg in messages with input as replaced("signature", {"signed": true, "valid": false, "error": "weights.bin: modified"})
	contains(msg, "weights.bin: modified")
}

test_critical_finding_is_denied if {
	"the model scan found 1 critical finding(s)" in messages with input as replaced("scan", {"by_severity": {"critical": 1}})
}

test_high_finding_is_denied if {
	"the model scan found 3 high finding(s)" in messages with input as replaced("scan", {"by_severity": {"high": 3}})
}

test_unscanned_is_denied if {
	"the model was never scanned" in messages with input as object.remove(good, ["scan"])
}

test_incomplete_card_is_denied if {
	"the model card is incomplete: missing license, owner_contact" in messages with input as replaced("card", {"completeness": 0.7, "missing": ["license", "owner_contact"]})
}

test_missing_card_is_denied if {
	"the model has no model card" in messages with input as object.remove(good, ["card"])
}

test_unfair_high_risk_is_denied if {
	"fairness metric demographic_parity_difference is 0.2, beyond 0.1 for a high-risk model" in messages with input as replaced("metrics", {"demographic_parity_difference": 0.2, "equalized_odds_difference": 0})
}

test_unfair_low_risk_is_allowed if {
	count(gate.deny) == 0 with input as object.union(replaced("metrics", {"demographic_parity_difference": 0.2}), {"risk_tier": "low"})
}

test_high_risk_without_fairness_metrics_is_denied if {
	"a high-risk model must report fairness metric equalized_odds_difference" in messages with input as replaced("metrics", {"demographic_parity_difference": 0})
}

test_high_risk_without_threat_model_is_denied if {
	"a high-risk model needs a threat model" in messages with input as object.remove(good, ["threat_model"])
}

test_low_risk_without_threat_model_is_allowed if {
	count(gate.deny) == 0 with input as object.remove(object.union(good, {"risk_tier": "low"}), ["threat_model"])
}

test_failing_dataset_is_denied if {
	"dataset fraud@3 fails its data contract (failed)" in messages with input as replaced("datasets", [{"name": "fraud@3", "contract": "failed"}])
}

test_dataset_without_status_is_denied if {
	"dataset fraud@3 fails its data contract (no status)" in messages with input as replaced("datasets", [{"name": "fraud@3"}])
}

test_signed_without_result_is_denied if {
	"the model's signature does not verify: no verification result" in messages with input as replaced("signature", {"signed": true})
}

test_string_signed_flag_is_denied if {
	"the model is not signed" in messages with input as replaced("signature", {"signed": "true", "valid": "true"})
}

test_malformed_scan_is_denied if {
	"the model was never scanned" in messages with input as replaced("scan", {"by_severity": "none"})
}

test_card_without_score_is_denied if {
	"the model card is incomplete: missing " in messages with input as replaced("card", {})
}

test_unknown_risk_tier_is_treated_as_high if {
	"a high-risk model needs a threat model" in messages with input as object.remove(object.union(good, {"risk_tier": "HIGH"}), ["threat_model"])
}

test_missing_risk_tier_is_treated_as_high if {
	"a high-risk model needs a threat model" in messages with input as object.remove(good, ["threat_model", "risk_tier"])
}

test_blank_threat_model_is_denied if {
	"a high-risk model needs a threat model" in messages with input as replaced("threat_model", "  ")
}

test_fairness_metric_as_string_is_denied if {
	"a high-risk model must report fairness metric demographic_parity_difference" in messages with input as replaced("metrics", {"demographic_parity_difference": "0.01", "equalized_odds_difference": 0})
}

test_negative_unfairness_is_denied if {
	"fairness metric equalized_odds_difference is -0.3, beyond 0.1 for a high-risk model" in messages with input as replaced("metrics", {"demographic_parity_difference": 0, "equalized_odds_difference": -0.3})
}

test_unreadable_files_are_denied if {
	"the model scan could not read 2 file(s)" in messages with input as replaced("scan", {"by_severity": {}, "errors": 2})
}

test_every_denial_names_its_rule if {
	rules == {
		"unsigned", "never-scanned", "card-missing", "fairness-unreported", "threat-model-missing",
	} with input as {"risk_tier": "high"}
}

deps(d) := replaced("dependencies", object.union({"checked": true, "affected": {}, "possibly_affected": {}, "malicious": 0}, d))

test_clean_dependencies_are_allowed if {
	count(gate.deny) == 0 with input as deps({"affected": {"medium": 3}, "possibly_affected": {"critical": 2}})
}

test_critical_dependency_is_denied if {
	"1 critical vulnerability advisory(ies) affect the model's dependencies" in messages with input as deps({"affected": {"critical": 1}})
}

test_high_dependency_blocks_a_high_risk_model_only if {
	"2 high vulnerability advisory(ies) affect the model's dependencies" in messages with input as deps({"affected": {"high": 2}})
	low := object.union(deps({"affected": {"high": 2}}), {"risk_tier": "low"})
	not "dependency-vulnerable" in rules with input as low
}

test_malicious_dependency_is_denied if {
	"dependency-malicious" in rules with input as deps({"malicious": 1})
}

test_unchecked_dependencies_are_denied if {
	some msg in messages with input as deps({"checked": false, "error": "no vulnerability database"})
	contains(msg, "no vulnerability database")
	"dependencies-unchecked" in rules with input as replaced("dependencies", {"checked": true, "affected": "none", "malicious": 0})
	"dependencies-unchecked" in rules with input as replaced("dependencies", {"checked": true, "affected": {}})
}

test_unresolved_threat_model_is_denied_for_high_risk if {
	some m in messages with input as object.union(good, {"threat_model_check": {"resolved": false, "passes": false, "open": {}}})
	contains(m, "is not a threat model file")
}

test_unresolved_threat_model_is_allowed_for_low_risk if {
	count(gate.deny) == 0 with input as object.union(good, {"risk_tier": "low", "threat_model_check": {"resolved": false, "passes": false, "open": {}}})
}

test_open_threat_model_is_denied if {
	some m in messages with input as object.union(good, {"threat_model_check": {"resolved": true, "passes": false, "open": {"critical": 1}, "error": ""}})
	contains(m, "does not pass")
}

test_threat_model_without_passes_is_denied if {
	some m in messages with input as object.union(good, {"threat_model_check": {"resolved": true, "open": {}}})
	contains(m, "does not pass")
}

test_passing_threat_model_is_allowed if {
	count(gate.deny) == 0 with input as object.union(good, {"threat_model_check": {"resolved": true, "passes": true, "open": {}}})
}
