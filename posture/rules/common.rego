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
	"PS-DF-004": {"severity": "medium", "title": "download in the build not verified", "remediation": "use ADD --checksum=sha256:… for URLs, or download, check a pinned digest (sha256sum -c) and then run", "refs": ["LLM03", "AML.T0010", "CWE-494"]},
	"PS-K8S-001": {"severity": "high", "title": "container may run as root", "remediation": "set securityContext.runAsNonRoot: true (and a runAsUser above 0)", "refs": ["NSA-CISA-K8s-Hardening", "CIS-K8s-5.2.6", "CWE-250"]},
	"PS-K8S-002": {"severity": "medium", "title": "privilege escalation allowed", "remediation": "set securityContext.allowPrivilegeEscalation: false", "refs": ["CIS-K8s-5.2.5", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-003": {"severity": "medium", "title": "root filesystem writable", "remediation": "set securityContext.readOnlyRootFilesystem: true and mount writable paths as volumes", "refs": ["NSA-CISA-K8s-Hardening"]},
	"PS-K8S-004": {"severity": "medium", "title": "capabilities not dropped", "remediation": "set securityContext.capabilities.drop: [ALL] and add back only what is needed", "refs": ["CIS-K8s-5.2.9", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-005": {"severity": "medium", "title": "no resource limits", "remediation": "set resources.limits for cpu and memory (and the GPUs a pod requests)", "refs": ["NSA-CISA-K8s-Hardening", "LLM10"]},
	"PS-K8S-006": {"severity": "high", "title": "hostPath volume", "remediation": "serve models from a read-only volume (a PVC, an image, an init container), not the node's filesystem", "refs": ["CIS-K8s-5.2.12", "AML.T0010"]},
	"PS-K8S-007": {"severity": "low", "title": "service-account token mounted in a model server", "remediation": "set automountServiceAccountToken: false on inference pods that do not call the Kubernetes API", "refs": ["CIS-K8s-5.1.6"]},
	"PS-K8S-008": {"severity": "high", "title": "model-server port exposed outside the cluster", "remediation": "expose model servers through an authenticating gateway (modelgate) and keep their Service ClusterIP", "refs": ["LLM10", "AML.T0040", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-009": {"severity": "high", "title": "ingress allows TLS below 1.2", "remediation": "allow TLSv1.2 and TLSv1.3 only (ssl-protocols: \"TLSv1.2 TLSv1.3\"; Traefik minVersion: VersionTLS12)", "refs": ["NIST-SP-800-52r2", "CWE-327", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-010": {"severity": "medium", "title": "model server reached over plain HTTP", "remediation": "add a tls section (a certificate for the host) to the Ingress", "refs": ["CWE-319", "LLM02", "NSA-CISA-K8s-Hardening"]},
	"PS-K8S-011": {"severity": "high", "title": "training or GPU namespace without a default-deny NetworkPolicy", "remediation": "add a NetworkPolicy with podSelector: {} and policyTypes: [Ingress, Egress] to the namespace, then allow only the flows the job needs", "refs": ["NSA-CISA-K8s-Hardening", "CIS-K8s-5.3.2", "AML.T0020", "LLM04"]},
	"PS-K8S-012": {"severity": "high", "title": "credential written into the manifest", "remediation": "keep the value in a Secret and reference it (env[].valueFrom.secretKeyRef, envFrom.secretRef), or mount it as a file", "refs": ["CIS-K8s-5.4.1", "CWE-798", "LLM02"]},
	"PS-K8S-013": {"severity": "medium", "title": "container image not pinned to a digest", "remediation": "reference images as name:tag@sha256:…, so that what runs is what was scanned and signed", "refs": ["NSA-CISA-K8s-Hardening", "LLM03", "AML.T0010"]},
	"PS-CMP-001": {"severity": "high", "title": "compose service runs privileged or as root", "remediation": "remove privileged: true and set user: to a non-root uid", "refs": ["CIS-Docker-5.4", "CWE-250"]},
	"PS-CMP-002": {"severity": "high", "title": "model-server port published on every interface", "remediation": "publish on 127.0.0.1 (\"127.0.0.1:8000:8000\") and put an authenticating gateway in front", "refs": ["LLM10", "AML.T0040", "CIS-Docker-5.13"]},
	"PS-CMP-003": {"severity": "high", "title": "credential written into the compose file", "remediation": "use secrets:, an env_file kept out of version control, or ${VAR} from the environment", "refs": ["CWE-798", "LLM02"]},
	"PS-CMP-004": {"severity": "medium", "title": "compose image not pinned to a digest", "remediation": "reference images as name:tag@sha256:…", "refs": ["CIS-Docker-4.2", "LLM03", "AML.T0010"]},
	"PS-TF-001": {"severity": "medium", "title": "bucket without an encryption configuration of its own", "remediation": "S3: add aws_s3_bucket_server_side_encryption_configuration (aws:kms); GCS: encryption { default_kms_key_name }; Azure: customer_managed_key", "refs": ["CIS-AWS-2.1.1", "CIS-GCP-5", "CIS-Azure-3", "LLM02"]},
	"PS-TF-002": {"severity": "high", "title": "bucket open to the public", "remediation": "S3: aws_s3_bucket_public_access_block with all four settings true; GCS: public_access_prevention = \"enforced\" and no allUsers grants; Azure: allow_nested_items_to_be_public = false and private containers", "refs": ["CIS-AWS-2.1.4", "CIS-GCP-5.1", "CIS-Azure-3.7", "LLM02"]},
	"PS-TF-003": {"severity": "low", "title": "bucket without versioning", "remediation": "enable versioning (aws_s3_bucket_versioning, versioning { enabled = true }, blob_properties { versioning_enabled = true }), so that a poisoned or deleted model can be restored", "refs": ["LLM04", "AML.T0018"]},
	"PS-TF-004": {"severity": "high", "title": "storage accepts plain HTTP or TLS below 1.2", "remediation": "set min_tls_version = \"TLS1_2\" and https_traffic_only_enabled = true", "refs": ["CIS-Azure-3.1", "CIS-Azure-3.15", "CWE-319"]},
}

hit(id, doc, line, msg) := object.union(meta[id], {"rule": id, "path": doc.path, "line": line, "msg": msg})

# secret_name holds for variable names that carry a credential: the name
# ends in a credential word (HF_TOKEN, OPENAI_API_KEY,
# AWS_SECRET_ACCESS_KEY, DB_PASSWORD), so that TOKENIZERS_PARALLELISM,
# MAX_TOKENS and HF_TOKEN_PATH do not.
secret_name(n) if regex.match(`(?i)(^|[_.-])(token|secret|secret_?key|passw(or)?d|pwd|api_?key|access_?key|private_?key|credentials?|auth)$`, n)

# AI providers' keys often end in plain KEY (OPENAI_KEY, HF_KEY), which
# for other names (SORT_KEY, CACHE_KEY) says nothing.
secret_name(n) if regex.match(`(?i)^(openai|azure_openai|anthropic|claude|cohere|mistral|groq|gemini|google_ai|hf|huggingface|hugging_face_hub|replicate|together|pinecone|wandb|langchain|langsmith|deepseek|perplexity|fireworks|voyage|xai)[_-]?(api[_-]?)?key$`, n)

# secret_value holds for a value shaped like a live credential, whatever
# the variable is called: OpenAI and Anthropic keys, Hugging Face tokens,
# AWS access key ids, GitHub and Slack tokens, Google API keys, modelgate
# keys.
secret_value(v) if {
	is_string(v)
	regex.match(`^(sk-(ant-|proj-)?[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|(AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36,}|xox[abpr]-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|mg_[a-z0-9]{12}_[a-z0-9]{40,})$`, v)
}

# written_credential holds for a variable whose value, written in the
# file, is a credential: by its name, or by its shape.
written_credential(n, v) if {
	secret_name(n)
	literal_secret(v)
}

written_credential(_, v) if secret_value(v)

# literal_secret holds for a value written out, rather than empty or
# interpolated from the environment at run time ($VAR, ${VAR}, $(VAR)).
literal_secret(v) if {
	is_string(v)
	v != ""
	not startswith(v, "$")
}

# pinned holds for an image reference with a digest.
pinned(img) if contains(img, "@sha256:")
