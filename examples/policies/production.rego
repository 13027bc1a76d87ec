# Example policies that add to modelgate's default gate (see docs/policy.md).
# Use them with: modelgate gate NAME@VERSION --policy examples/policies
package modelgate.gate

import rego.v1

# Production models need an accuracy of at least 0.9 (no metric counts as 0).
deny contains msg if {
	acc := object.get(input, ["metrics", "accuracy"], 0)
	acc < 0.9
	msg := sprintf("accuracy %v is below 0.9", [acc])
}

# Only the ML platform team ships high-risk models.
deny contains "high-risk models are owned by ml-platform" if {
	input.risk_tier == "high"
	owner := object.get(input, ["card", "fields", "owner_contact"], "")
	not contains(owner, "ml-platform@")
}

# Medium findings are allowed, but not more than three of them.
deny contains msg if {
	n := object.get(input, ["scan", "by_severity", "medium"], 0)
	n > 3
	msg := sprintf("%d medium scan findings (at most 3)", [n])
}
