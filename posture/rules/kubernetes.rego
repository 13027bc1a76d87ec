package modelgate.posture

import rego.v1

workload_kinds := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

objects contains d if {
	some d in input.documents
	d.kind == "kubernetes"
}

pod_spec(d) := d.content.spec if d.content.kind == "Pod"

pod_spec(d) := d.content.spec.template.spec if d.content.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

pod_spec(d) := d.content.spec.jobTemplate.spec.template.spec if d.content.kind == "CronJob"

# containers yields [object, container] for every container and init
# container of every workload.
containers contains [d, c] if {
	some d in objects
	d.content.kind in workload_kinds
	spec := pod_spec(d)
	some key in ["containers", "initContainers"]
	some c in object.get(spec, key, [])
}

label(d, c) := sprintf("%s/%s container %s", [d.content.kind, object.get(d.content, ["metadata", "name"], "?"), object.get(c, "name", "?")])

non_root(d, c) if c.securityContext.runAsNonRoot == true

non_root(d, c) if c.securityContext.runAsUser > 0

non_root(d, c) if {
	pod_spec(d).securityContext.runAsNonRoot == true
	not c.securityContext.runAsNonRoot == false
	not c.securityContext.runAsUser == 0
}

deny contains f if {
	some [d, c] in containers
	not non_root(d, c)
	f := hit("PS-K8S-001", d, d.line, label(d, c))
}

deny contains f if {
	some [d, c] in containers
	not c.securityContext.allowPrivilegeEscalation == false
	f := hit("PS-K8S-002", d, d.line, label(d, c))
}

deny contains f if {
	some [d, c] in containers
	not c.securityContext.readOnlyRootFilesystem == true
	f := hit("PS-K8S-003", d, d.line, label(d, c))
}

drops_all(c) if {
	some cap in c.securityContext.capabilities.drop
	upper(cap) == "ALL"
}

deny contains f if {
	some [d, c] in containers
	not drops_all(c)
	f := hit("PS-K8S-004", d, d.line, label(d, c))
}

limited(c) if {
	c.resources.limits.cpu
	c.resources.limits.memory
}

deny contains f if {
	some [d, c] in containers
	not limited(c)
	f := hit("PS-K8S-005", d, d.line, label(d, c))
}

deny contains f if {
	some d in objects
	d.content.kind in workload_kinds
	some v in object.get(pod_spec(d), "volumes", [])
	v.hostPath
	f := hit("PS-K8S-006", d, d.line, sprintf("%s/%s volume %s mounts %s from the node", [d.content.kind, object.get(d.content, ["metadata", "name"], "?"), v.name, v.hostPath.path]))
}

model_server_images := ["vllm/", "ghcr.io/huggingface/text-generation-inference", "ghcr.io/huggingface/text-embeddings-inference",
	"ollama/ollama", "nvcr.io/nvidia/tritonserver", "nvcr.io/nim/", "pytorch/torchserve", "kserve/", "seldonio/",
	"ghcr.io/ggerganov/llama.cpp", "ghcr.io/ggml-org/llama.cpp", "lmsysorg/sglang", "localai/localai", "openvino/model_server", "tensorflow/serving"]

model_server(d) if {
	some [e, c] in containers
	e == d
	some p in model_server_images
	contains(c.image, p)
}

deny contains f if {
	some d in objects
	d.content.kind in workload_kinds
	model_server(d)
	not pod_spec(d).automountServiceAccountToken == false
	f := hit("PS-K8S-007", d, d.line, sprintf("%s/%s", [d.content.kind, object.get(d.content, ["metadata", "name"], "?")]))
}

model_ports := {11434, 8000, 8001, 8002, 8080, 8081, 8265, 5000, 7860, 8888}

exposed_port(p) if p.port in model_ports

exposed_port(p) if p.targetPort in model_ports

deny contains f if {
	some d in objects
	d.content.kind == "Service"
	d.content.spec.type in {"LoadBalancer", "NodePort"}
	some p in d.content.spec.ports
	exposed_port(p)
	f := hit("PS-K8S-008", d, d.line, sprintf("Service %s (%s) exposes port %v", [object.get(d.content, ["metadata", "name"], "?"), d.content.spec.type, p.port]))
}
