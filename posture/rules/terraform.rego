package modelgate.posture

import rego.v1

resources contains [d, r] if {
	some d in input.documents
	d.kind == "terraform"
	some r in d.content.resources
}

bucket_types := {"aws_s3_bucket", "google_storage_bucket", "azurerm_storage_account"}

buckets contains [d, r] if {
	some [d, r] in resources
	r.type in bucket_types
}

# A resource configures a bucket when it names it in its bucket (S3,
# GCS) or storage account (Azure) attribute: by reference
# (aws_s3_bucket.models.id, google_storage_bucket.x.name) or by the
# bucket's literal name. Every file is searched: the settings of a bucket
# are often in a file of their own. links indexes the resources by type
# and what they name, so that each bucket looks its settings up.
link_attrs := ["bucket", "storage_account_name", "storage_account_id"]

links[[r.type, target]] contains r if {
	some [_, r] in resources
	some attr in link_attrs
	target := link_target(r.attrs[attr])
}

link_target(v) := sprintf("%s.%s", [parts[0], parts[1]]) if {
	parts := split(v.ref, ".")
	count(parts) >= 2
}

link_target(v) := concat("", ["name:", v]) if is_string(v)

bucket_targets(b) := {sprintf("%s.%s", [b.type, b.name])} | {concat("", ["name:", n]) |
	n := literal_name(b)
	is_string(n)
}

literal_name(b) := b.attrs.bucket if b.type == "aws_s3_bucket"

literal_name(b) := b.attrs.name if b.type != "aws_s3_bucket"

# settings yields the resources of a type that configure bucket b.
settings(b, type) := {r |
	some t in bucket_targets(b)
	some r in object.get(links, [[type, t]], set())
}

# PS-TF-001: an encryption configuration of the bucket's own. S3 needs
# one; GCS and Azure Storage always encrypt with the provider's keys, so
# what is asked of them is a customer-managed key, which the owner can
# revoke in an incident.
encrypted(b) if {
	b.type == "aws_s3_bucket"
	b.attrs.server_side_encryption_configuration
}

encrypted(b) if count(settings(b, "aws_s3_bucket_server_side_encryption_configuration")) > 0

encrypted(b) if {
	b.type == "google_storage_bucket"
	some e in b.attrs.encryption
	e.default_kms_key_name
}

encrypted(b) if {
	b.type == "azurerm_storage_account"
	b.attrs.customer_managed_key
}

encrypted(b) if count(settings(b, "azurerm_storage_account_customer_managed_key")) > 0

deny contains f if {
	some [d, b] in buckets
	not encrypted(b)
	f := hit("PS-TF-001", d, b.line, b.address)
}

# PS-TF-002: public access.
blocks_public(b) if {
	b.type == "aws_s3_bucket"
	some pab in settings(b, "aws_s3_bucket_public_access_block")
	every k in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"] {
		pab.attrs[k] == true
	}
}

blocks_public(b) if {
	b.type == "google_storage_bucket"
	b.attrs.public_access_prevention == "enforced"
}

blocks_public(b) if {
	b.type == "azurerm_storage_account"
	some k in ["allow_nested_items_to_be_public", "allow_blob_public_access"]
	b.attrs[k] == false
}

deny contains f if {
	some [d, b] in buckets
	not blocks_public(b)
	f := hit("PS-TF-002", d, b.line, sprintf("%s: public access is not blocked", [b.address]))
}

public_members := {"allUsers", "allAuthenticatedUsers"}

# A grant to everyone is public whatever the bucket says.
deny contains f if {
	some [d, r] in resources
	r.type in {"google_storage_bucket_iam_member", "google_storage_bucket_iam_binding", "google_storage_bucket_access_control"}
	some m in array.concat([object.get(r.attrs, "member", ""), object.get(r.attrs, "entity", "")], object.get(r.attrs, "members", []))
	m in public_members
	f := hit("PS-TF-002", d, r.line, sprintf("%s grants %s", [r.address, m]))
}

deny contains f if {
	some [d, r] in resources
	r.type == "azurerm_storage_container"
	r.attrs.container_access_type in {"blob", "container"}
	f := hit("PS-TF-002", d, r.line, sprintf("%s: container_access_type %s", [r.address, r.attrs.container_access_type]))
}

deny contains f if {
	some [d, r] in resources
	r.type in {"aws_s3_bucket_acl", "aws_s3_bucket"}
	r.attrs.acl in {"public-read", "public-read-write", "authenticated-read"}
	f := hit("PS-TF-002", d, r.line, sprintf("%s: acl %s", [r.address, r.attrs.acl]))
}

# PS-TF-003: versioning, so that a poisoned or deleted model can be
# restored.
versioned(b) if {
	b.type in {"aws_s3_bucket", "google_storage_bucket"}
	some v in b.attrs.versioning
	v.enabled == true
}

versioned(b) if {
	some r in settings(b, "aws_s3_bucket_versioning")
	some c in r.attrs.versioning_configuration
	c.status == "Enabled"
}

versioned(b) if {
	b.type == "azurerm_storage_account"
	some p in b.attrs.blob_properties
	p.versioning_enabled == true
}

deny contains f if {
	some [d, b] in buckets
	not versioned(b)
	f := hit("PS-TF-003", d, b.line, b.address)
}

# PS-TF-004: storage reachable over plain HTTP or TLS below 1.2.
deny contains f if {
	some [d, b] in buckets
	b.type == "azurerm_storage_account"
	b.attrs.min_tls_version in {"TLS1_0", "TLS1_1"}
	f := hit("PS-TF-004", d, b.line, sprintf("%s: min_tls_version %s", [b.address, b.attrs.min_tls_version]))
}

deny contains f if {
	some [d, b] in buckets
	b.type == "azurerm_storage_account"
	some k in ["https_traffic_only_enabled", "enable_https_traffic_only"]
	b.attrs[k] == false
	f := hit("PS-TF-004", d, b.line, sprintf("%s: %s is false", [b.address, k]))
}
