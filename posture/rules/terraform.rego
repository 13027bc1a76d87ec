package modelgate.posture

import rego.v1

resources contains [d, r] if {
	some d in input.documents
	d.kind == "terraform"
	some r in d.content.resources
}

buckets contains [d, r] if {
	some [d, r] in resources
	r.type == "aws_s3_bucket"
}

# refers(r, b) holds when resource r names bucket b in its bucket
# attribute: by reference (aws_s3_bucket.models.id or .bucket) or by the
# bucket's literal name. Every file is searched: the configuration of a
# bucket is often in a file of its own.
refers(r, b) if {
	ref := r.attrs.bucket.ref
	startswith(ref, sprintf("aws_s3_bucket.%s.", [b.name]))
}

refers(r, b) if {
	is_string(r.attrs.bucket)
	r.attrs.bucket == b.attrs.bucket
}

configured(b, type) if {
	some [_, r] in resources
	r.type == type
	refers(r, b)
}

deny contains f if {
	some [d, b] in buckets
	not b.attrs.server_side_encryption_configuration
	not configured(b, "aws_s3_bucket_server_side_encryption_configuration")
	f := hit("PS-TF-001", d, b.line, b.address)
}

deny contains f if {
	some [d, b] in buckets
	not configured(b, "aws_s3_bucket_public_access_block")
	f := hit("PS-TF-002", d, b.line, b.address)
}

inline_versioning(b) if {
	some v in b.attrs.versioning
	v.enabled == true
}

versioned(b) if {
	some [_, r] in resources
	r.type == "aws_s3_bucket_versioning"
	refers(r, b)
	some c in r.attrs.versioning_configuration
	c.status == "Enabled"
}

deny contains f if {
	some [d, b] in buckets
	not inline_versioning(b)
	not versioned(b)
	f := hit("PS-TF-003", d, b.line, b.address)
}
