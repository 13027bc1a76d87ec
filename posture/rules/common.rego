# The AI infrastructure rule pack. Input: {"documents": [...]}, every file
# read (see docs/posture.md for the document shapes). Each rule adds to
# deny an object made by hit(): the rule's metadata below, the file, the
# line and what was seen.
package modelgate.posture

import rego.v1

meta := {
	"PS-DF-001": {"severity": "high", "title": "the image runs as root", "remediation": "add USER with a non-root uid (USER 65532:65532) to the final stage", "refs": ["CIS-Docker-4.1", "NSA-CISA-K8s-Hardening", "CWE-250"]},
	"PS-DF-002": {"severity": "medium", "title": "base image not pinned to a digest", "remediation": "pin FROM to image@sha256:… (and a tag for readers), and update it deliberately", "refs": ["CIS-Docker-4.2", "LLM03", "AML.T0010"]},
	"PS-DF-003": {"severity": "high", "title": "credential in ENV or ARG", "remediation": "pass secrets at run time (a mounted secret, or --mount=type=secret at build), never in ENV or ARG, which stay in the image's history", "refs": ["CIS-Docker-4.10", "CWE-798", "LLM02"]},
	"PS-K8S-001": {"severity": "high", "title": "container may run as root", "remediation": "set securityContext.runAsNonRoot: true (and a runAsUser above 0)", "refs": ["NSA-CISA-K8s-Hardening", "CIS-K8s-5.2.6", "CWE-250"]},
	"PS-K8S-002": {"severity": "medium", "title": "privilege escalation allowed", "remediation": "set securityContext.allowPrivilegeEscalation: false", "refs": ["CIS-K8s-5.2.5", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-003": {"severity": "medium", "title": "root filesystem writable", "remediation": "set securityContext.readOnlyRootFilesystem: true and mount writable paths as volumes", "refs": ["NSA-CISA-K8s-Hardening"]},
	"PS-K8S-004": {"severity": "medium", "title": "capabilities not dropped", "remediation": "set securityContext.capabilities.drop: [ALL] and add back only what is needed", "refs": ["CIS-K8s-5.2.9", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-005": {"severity": "medium", "title": "no resource limits", "remediation": "set resources.limits for cpu and memory (and the GPUs a pod requests)", "refs": ["NSA-CISA-K8s-Hardening", "LLM10"]},
	"PS-K8S-006": {"severity": "high", "title": "hostPath volume", "remediation": "serve models from a read-only volume (a PVC, an image, an init container), not the node's filesystem", "refs": ["CIS-K8s-5.2.12", "AML.T0010"]},
	"PS-K8S-007": {"severity": "low", "title": "service-account token mounted in a model server", "remediation": "set automountServiceAccountToken: false on inference pods that do not call the Kubernetes API", "refs": ["CIS-K8s-5.1.6"]},
	"PS-K8S-008": {"severity": "high", "title": "model-server port exposed outside the cluster", "remediation": "expose model servers through an authenticating gateway (modelgate) and keep their Service ClusterIP", "refs": ["LLM10", "AML.T0040", "NSA-CISA-K8s-Hardening"]},
	"PS-TF-001": {"severity": "medium", "title": "bucket without server-side encryption configured", "remediation": "add aws_s3_bucket_server_side_encryption_configuration (KMS) for the bucket", "refs": ["CIS-AWS-2.1.1", "LLM02"]},
	"PS-TF-002": {"severity": "high", "title": "bucket without a public access block", "remediation": "add aws_s3_bucket_public_access_block with all four settings true", "refs": ["CIS-AWS-2.1.4", "LLM02"]},
	"PS-TF-003": {"severity": "low", "title": "bucket without versioning", "remediation": "add aws_s3_bucket_versioning with status Enabled, so that a poisoned or deleted model can be restored", "refs": ["LLM04", "AML.T0018"]},
}

hit(id, doc, line, msg) := object.union(meta[id], {"rule": id, "path": doc.path, "line": line, "msg": msg})
