package modelgate.posture

import rego.v1

workload_kinds := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"} | training_kinds

# Kubeflow training jobs and Ray clusters: pods of their own shapes.
training_kinds := {"PyTorchJob", "TFJob", "MPIJob", "XGBoostJob", "PaddleJob", "JAXJob", "TrainJob", "RayJob", "RayCluster"}

objects contains d if {
	some d in input.documents
	d.kind == "kubernetes"
}

name(d) := object.get(d.content, ["metadata", "name"], "?")

namespace(d) := object.get(d.content, ["metadata", "namespace"], "default")

# specs yields [object, pod spec] for every pod template of every
# workload.
specs contains [d, d.content.spec] if {
	some d in objects
	d.content.kind == "Pod"
}

specs contains [d, d.content.spec.template.spec] if {
	some d in objects
	d.content.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
}

specs contains [d, d.content.spec.jobTemplate.spec.template.spec] if {
	some d in objects
	d.content.kind == "CronJob"
}

# Kubeflow: spec.<x>ReplicaSpecs.<role>.template.spec.
specs contains [d, r.template.spec] if {
	some d in objects
	d.content.kind in training_kinds
	some key, replicas in d.content.spec
	endswith(key, "ReplicaSpecs")
	some r in replicas
}

# Ray: the head group and every worker group.
specs contains [d, s] if {
	some d in objects
	d.content.kind in {"RayCluster", "RayJob"}
	cluster := object.get(d.content.spec, "rayClusterSpec", d.content.spec)
	groups := array.concat([object.get(cluster, "headGroupSpec", {})], object.get(cluster, "workerGroupSpecs", []))
	some g in groups
	s := g.template.spec
}

# containers yields [object, pod spec, container] for every container
# and init container.
containers contains [d, s, c] if {
	some [d, s] in specs
	some key in ["containers", "initContainers"]
	some c in object.get(s, key, [])
}

label(d, c) := sprintf("%s/%s container %s", [d.content.kind, name(d), object.get(c, "name", "?")])

non_root(s, c) if c.securityContext.runAsNonRoot == true

non_root(s, c) if c.securityContext.runAsUser > 0

non_root(s, c) if {
	s.securityContext.runAsNonRoot == true
	not c.securityContext.runAsNonRoot == false
	not c.securityContext.runAsUser == 0
}

non_root(s, c) if {
	s.securityContext.runAsUser > 0
	not c.securityContext.runAsNonRoot == false
	not c.securityContext.runAsUser == 0
}

deny contains f if {
	some [d, s, c] in containers
	not non_root(s, c)
	f := hit("PS-K8S-001", d, d.line, label(d, c))
}

deny contains f if {
	some [d, _, c] in containers
	not c.securityContext.allowPrivilegeEscalation == false
	f := hit("PS-K8S-002", d, d.line, label(d, c))
}

deny contains f if {
	some [d, _, c] in containers
	not c.securityContext.readOnlyRootFilesystem == true
	f := hit("PS-K8S-003", d, d.line, label(d, c))
}

drops_all(c) if {
	some cap in c.securityContext.capabilities.drop
	upper(cap) == "ALL"
}

deny contains f if {
	some [d, _, c] in containers
	not drops_all(c)
	f := hit("PS-K8S-004", d, d.line, label(d, c))
}

gpu_resource(k) if regex.match(`(?i)(^|[./])gpu($|[.-])|^nvidia\.com/|^amd\.com/|^habana\.ai/|^aws\.amazon\.com/neuron`, k)

gpus_requested(c) := {k |
	some part in ["requests", "limits"]
	some k, _ in object.get(c, ["resources", part], {})
	gpu_resource(k)
}

# A container is limited when it has cpu and memory limits and a limit
# for every accelerator it asks for.
limited(c) if {
	c.resources.limits.cpu
	c.resources.limits.memory
	every k in gpus_requested(c) {
		c.resources.limits[k]
	}
}

deny contains f if {
	some [d, _, c] in containers
	not limited(c)
	f := hit("PS-K8S-005", d, d.line, label(d, c))
}

deny contains f if {
	some [d, s] in specs
	some v in object.get(s, "volumes", [])
	v.hostPath
	f := hit("PS-K8S-006", d, d.line, sprintf("%s/%s volume %s mounts %s from the node", [d.content.kind, name(d), v.name, v.hostPath.path]))
}

model_server_images := ["vllm/", "ghcr.io/huggingface/text-generation-inference", "ghcr.io/huggingface/text-embeddings-inference",
	"ollama/ollama", "nvcr.io/nvidia/tritonserver", "nvcr.io/nim/", "pytorch/torchserve", "kserve/", "seldonio/",
	"ghcr.io/ggerganov/llama.cpp", "ghcr.io/ggml-org/llama.cpp", "lmsysorg/sglang", "localai/localai", "openvino/model_server", "tensorflow/serving"]

model_server_image(img) if {
	some p in model_server_images
	contains(img, p)
}

deny contains f if {
	some [d, s] in specs
	some c in s.containers
	model_server_image(c.image)
	not s.automountServiceAccountToken == false
	f := hit("PS-K8S-007", d, d.line, sprintf("%s/%s", [d.content.kind, name(d)]))
}

model_ports := {11434, 8000, 8001, 8002, 8080, 8081, 8265, 5000, 7860, 8888}

exposed_port(p) if p.port in model_ports

exposed_port(p) if p.targetPort in model_ports

# A Service port whose targetPort is a name reaches the container ports of
# that name: a model port if any workload of the namespace gives one.
exposed(svc, p) if exposed_port(p)

exposed(svc, p) if {
	is_string(p.targetPort)
	some [w, _, c] in containers
	namespace(w) == namespace(svc)
	some cp in object.get(c, "ports", [])
	cp.name == p.targetPort
	cp.containerPort in model_ports
}

deny contains f if {
	some d in objects
	d.content.kind == "Service"
	d.content.spec.type in {"LoadBalancer", "NodePort"}
	some p in d.content.spec.ports
	exposed(d, p)
	f := hit("PS-K8S-008", d, d.line, sprintf("Service %s (%s) exposes port %v", [name(d), d.content.spec.type, p.port]))
}

# An Ingress reaches a model server when its backend port is a model
# port, or when the Service it names (in its namespace, in any file)
# forwards to one.
ingress_backends contains [d, b.service] if {
	some d in objects
	d.content.kind == "Ingress"
	some r in object.get(d.content.spec, "rules", [])
	some p in r.http.paths
	b := p.backend
}

ingress_backends contains [d, d.content.spec.defaultBackend.service] if {
	some d in objects
	d.content.kind == "Ingress"
}

model_backend(d, svc) if svc.port.number in model_ports

model_backend(d, svc) if {
	some s in objects
	s.content.kind == "Service"
	name(s) == svc.name
	namespace(s) == namespace(d)
	some p in s.content.spec.ports
	exposed(s, p)
	backend_port_matches(p, object.get(svc, "port", {}))
}

backend_port_matches(p, bp) if p.port == bp.number

backend_port_matches(p, bp) if p.name == bp.name

backend_port_matches(_, bp) if count(bp) == 0

# Annotations by which the common controllers put authentication in front
# of an Ingress: external auth (ingress-nginx, ALB), basic auth, OAuth
# proxies, Traefik middlewares and Kong plugins.
authenticated(d) if {
	some k, _ in object.get(d.content, ["metadata", "annotations"], {})
	regex.match(`(?i)auth|router\.middlewares|konghq\.com/plugins`, k)
}

deny contains f if {
	some [d, svc] in ingress_backends
	model_backend(d, svc)
	not authenticated(d)
	f := hit("PS-K8S-008", d, d.line, sprintf("Ingress %s routes to Service %s (a model server) with no authentication annotation", [name(d), svc.name]))
}

# TLS protocol lists that allow a version below 1.2.
weak_protocols(s) if regex.match(`(?i)\b(SSLv[23]|TLSv1(\.[01])?)(\s|$)`, s)

deny contains f if {
	some d in objects
	d.content.kind == "Ingress"
	some k, v in object.get(d.content, ["metadata", "annotations"], {})
	endswith(k, "/ssl-protocols")
	weak_protocols(v)
	f := hit("PS-K8S-009", d, d.line, sprintf("Ingress %s: %s: %s", [name(d), k, v]))
}

# ingress-nginx reads its defaults from a ConfigMap.
deny contains f if {
	some d in objects
	d.content.kind == "ConfigMap"
	v := d.content.data["ssl-protocols"]
	weak_protocols(v)
	f := hit("PS-K8S-009", d, d.line, sprintf("ConfigMap %s: ssl-protocols: %s", [name(d), v]))
}

deny contains f if {
	some d in objects
	d.content.kind == "TLSOption"
	d.content.spec.minVersion in {"VersionTLS10", "VersionTLS11", "VersionSSL30"}
	f := hit("PS-K8S-009", d, d.line, sprintf("TLSOption %s: minVersion %s", [name(d), d.content.spec.minVersion]))
}

deny contains f if {
	some [d, svc] in ingress_backends
	model_backend(d, svc)
	count(object.get(d.content.spec, "tls", [])) == 0
	f := hit("PS-K8S-010", d, d.line, sprintf("Ingress %s routes to Service %s (a model server) over plain HTTP", [name(d), svc.name]))
}

# A namespace runs training or accelerators when a workload in it asks
# for a GPU or is a training job. Workloads are keyed by file, place and
# name, so that the rule looks them up rather than comparing documents.
key(d) := [d.path, d.index, d.content.kind, name(d)]

gpu_workloads contains key(d) if {
	some [d, _, c] in containers
	count(gpus_requested(c)) > 0
}

training(d) if key(d) in gpu_workloads

training(d) if d.content.kind in training_kinds

# A default-deny policy selects every pod of its namespace and allows no
# ingress (policyTypes defaults to Ingress when absent).
default_deny(ns) if {
	some p in objects
	p.content.kind == "NetworkPolicy"
	namespace(p) == ns
	count(object.get(p.content.spec, ["podSelector", "matchLabels"], {})) == 0
	count(object.get(p.content.spec, ["podSelector", "matchExpressions"], [])) == 0
	"Ingress" in object.get(p.content.spec, "policyTypes", ["Ingress"])
	count(object.get(p.content.spec, "ingress", [])) == 0
}

deny contains f if {
	some d in objects
	training(d)
	not default_deny(namespace(d))
	f := hit("PS-K8S-011", d, d.line, sprintf("%s/%s runs in namespace %s, which has no NetworkPolicy selecting every pod and denying ingress", [d.content.kind, name(d), namespace(d)]))
}

# Credentials written into a manifest rather than referenced from a
# Secret (valueFrom.secretKeyRef, envFrom.secretRef).
deny contains f if {
	some [d, _, c] in containers
	some e in object.get(c, "env", [])
	written_credential(e.name, object.get(e, "value", ""))
	f := hit("PS-K8S-012", d, d.line, sprintf("%s: env %s has a literal value", [label(d, c), e.name]))
}

deny contains f if {
	some d in objects
	d.content.kind == "ConfigMap"
	some k, v in object.get(d.content, "data", {})
	written_credential(k, v)
	f := hit("PS-K8S-012", d, d.line, sprintf("ConfigMap %s: key %s", [name(d), k]))
}

deny contains f if {
	some [d, _, c] in containers
	not pinned(c.image)
	f := hit("PS-K8S-013", d, d.line, sprintf("%s: image %s", [label(d, c), c.image]))
}
