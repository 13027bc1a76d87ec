package inventory

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// modelServers are container images of model servers, by the prefix of
// their repository.
var modelServers = []struct{ image, server string }{
	{"vllm/vllm-openai", "vLLM"}, {"vllm/", "vLLM"},
	{"ghcr.io/huggingface/text-generation-inference", "TGI"}, {"ghcr.io/huggingface/text-embeddings-inference", "TEI"},
	{"ollama/ollama", "Ollama"}, {"nvcr.io/nvidia/tritonserver", "Triton"}, {"nvcr.io/nim/", "NVIDIA NIM"},
	{"pytorch/torchserve", "TorchServe"}, {"kserve/", "KServe"}, {"seldonio/", "Seldon"}, {"rayproject/ray", "Ray"},
	{"ghcr.io/ggerganov/llama.cpp", "llama.cpp"}, {"ghcr.io/ggml-org/llama.cpp", "llama.cpp"},
	{"localai/localai", "LocalAI"}, {"quay.io/go-skynet/local-ai", "LocalAI"}, {"lmsysorg/sglang", "SGLang"},
	{"bentoml/", "BentoML"}, {"ghcr.io/mlflow/mlflow", "MLflow"}, {"openvino/model_server", "OpenVINO Model Server"},
	{"tensorflow/serving", "TensorFlow Serving"}, {"ghcr.io/berriai/litellm", "LiteLLM"},
}

// serverCommands recognise a model server by what a container runs.
var serverCommands = []struct {
	re     *regexp.Regexp
	server string
}{
	{regexp.MustCompile(`\bvllm(?:\s+serve\b|\.entrypoints)`), "vLLM"},
	{regexp.MustCompile(`\btext-generation-launcher\b`), "TGI"},
	{regexp.MustCompile(`\bollama\s+(?:serve|run)\b`), "Ollama"},
	{regexp.MustCompile(`\btritonserver\b`), "Triton"},
	{regexp.MustCompile(`\btorchserve\b`), "TorchServe"},
	{regexp.MustCompile(`\bllama-server\b|\bllama_cpp\.server\b`), "llama.cpp"},
	{regexp.MustCompile(`\bsglang\.launch_server\b`), "SGLang"},
	{regexp.MustCompile(`\bmlflow\s+models\s+serve\b`), "MLflow"},
	{regexp.MustCompile(`\bbentoml\s+serve\b`), "BentoML"},
}

// trainingKinds are Kubernetes kinds that run training or batch ML.
var trainingKinds = map[string]string{
	"PyTorchJob": "Kubeflow", "TFJob": "Kubeflow", "MPIJob": "Kubeflow", "XGBoostJob": "Kubeflow", "TrainJob": "Kubeflow",
	"PaddleJob": "Kubeflow", "JAXJob": "Kubeflow", "RayJob": "Ray", "RayCluster": "Ray",
}

// servingKinds are Kubernetes kinds that serve models.
var servingKinds = map[string]string{
	"InferenceService": "KServe", "ServingRuntime": "KServe", "ClusterServingRuntime": "KServe", "InferenceGraph": "KServe",
	"SeldonDeployment": "Seldon", "RayService": "Ray", "LLMInferenceService": "KServe",
}

var gpuResources = []string{"nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/", "google.com/tpu", "habana.ai/gaudi"}

// serving records the serving and training configurations in a text:
// Kubernetes manifests, compose files, BentoML's bentofile, Triton's
// config.pbtxt, TorchServe's config.properties, an Ollama Modelfile, a
// Dockerfile built on a model server.
func (sn *sniffer) serving(f *file, b []byte) {
	lower := strings.ToLower(f.name)
	ext := filepath.Ext(lower)
	// Each check below first looks for a word its format cannot do
	// without: most text is none of these, and is passed over cheaply.
	switch {
	case (ext == ".yaml" || ext == ".yml" || bytes.HasPrefix(b, []byte("apiVersion:")) || bytes.HasPrefix(b, []byte("services:"))) &&
		(bytes.Contains(b, []byte("kind:")) || bytes.Contains(b, []byte("service"))):
		sn.yamlServing(f, b)
	case (bytes.Contains(b, []byte("platform")) || bytes.Contains(b, []byte("backend"))) && tritonConfig(b):
		a := sn.servingAsset(f, pbtxtValue(b, "name"), "Triton", "triton-config")
		a.attr("backend", pbtxtValue(b, "platform")+pbtxtValue(b, "backend"))
		sn.add(*a)
	case (bytes.Contains(b, []byte("inference_address")) || bytes.Contains(b, []byte("model_store"))) && torchserveConfig(b):
		a := sn.servingAsset(f, f.name, "TorchServe", "torchserve-config")
		a.attr("load_models", propValue(b, "load_models"))
		a.attr("inference_address", propValue(b, "inference_address"))
		a.attr("model_store", propValue(b, "model_store"))
		sn.add(*a)
	case lineStartsFold(b, "from "):
		if base, ok := modelfile(b); ok {
			a := sn.servingAsset(f, f.name, "Ollama", "ollama-modelfile")
			a.attr("base_model", base)
			sn.add(*a)
		} else if image, ok := dockerfileServer(b); ok {
			a := sn.servingAsset(f, f.name, imageServer(image), "dockerfile")
			a.attr("image", image)
			sn.add(*a)
		}
	}
}

// lineStartsFold reports whether a line of b starts with prefix, in any
// case.
func lineStartsFold(b []byte, prefix string) bool {
	for i := 0; i < len(b); {
		if hasPrefixFold(b[i:], prefix) {
			return true
		}
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

func (sn *sniffer) servingAsset(f *file, name, server, format string) *Asset {
	a := &Asset{Kind: KindServing, Path: f.path, Name: name, Format: format, Size: f.size}
	a.attr("server", server)
	return a
}

func imageServer(image string) string {
	for _, s := range modelServers {
		if strings.HasPrefix(image, s.image) || strings.Contains(image, "/"+s.image) {
			return s.server
		}
	}
	return ""
}

// yamlServing reads every document of a YAML file.
func (sn *sniffer) yamlServing(f *file, b []byte) {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 0; i < 1000; i++ {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return // not YAML the inventory reads; posture checks judge its syntax
		}
		switch {
		case doc["kind"] != nil && doc["apiVersion"] != nil:
			sn.k8sServing(f, doc, i)
		case doc["services"] != nil:
			sn.composeServing(f, doc)
		case doc["service"] != nil && strings.HasPrefix(strings.ToLower(f.name), "bentofile"):
			a := sn.servingAsset(f, str(doc["name"])+str(doc["service"]), "BentoML", "bentofile")
			a.attr("service", str(doc["service"]))
			a.attr("models", yamlText(doc["models"]))
			sn.add(*a)
		}
	}
}

func (sn *sniffer) k8sServing(f *file, doc map[string]any, n int) {
	kind := str(doc["kind"])
	name := str(dig(doc, "metadata", "name"))
	if name == "" {
		name = fmt.Sprintf("%s#%d", kind, n)
	}
	label := kind + "/" + name
	if server, ok := servingKinds[kind]; ok {
		a := sn.servingAsset(f, label, server, "kubernetes")
		a.attr("api_version", str(doc["apiVersion"]))
		a.attr("storage_uri", str(dig(doc, "spec", "predictor", "model", "storageUri")))
		a.attr("model_format", str(dig(doc, "spec", "predictor", "model", "modelFormat", "name")))
		a.attr("namespace", str(dig(doc, "metadata", "namespace")))
		sn.add(*a)
		return
	}
	if fw, ok := trainingKinds[kind]; ok {
		a := &Asset{Kind: KindServing, Path: f.path, Name: label, Format: "kubernetes", Size: f.size}
		a.attr("workload", "training")
		a.attr("framework", fw)
		a.attr("namespace", str(dig(doc, "metadata", "namespace")))
		sn.add(*a)
		return
	}
	containers := podContainers(kind, doc)
	if len(containers) == 0 {
		return
	}
	var servers, images, models, gpus []string
	for _, c := range containers {
		image := str(c["image"])
		cmd := append(strList(c["command"]), strList(c["args"])...)
		if s := containerServer(image, cmd); s != "" {
			servers = append(servers, s)
			images = append(images, image)
			models = append(models, modelArgs(cmd, envMap(c["env"]))...)
		}
		if g := gpuRequest(dig(c, "resources")); g != "" {
			gpus = append(gpus, g)
		}
	}
	if len(servers) == 0 && len(gpus) == 0 {
		return
	}
	a := &Asset{Kind: KindServing, Path: f.path, Name: label, Format: "kubernetes", Size: f.size}
	workload := "serving"
	if len(servers) == 0 {
		workload = "gpu"
		if kind == "Job" || kind == "CronJob" {
			workload = "training"
		}
	}
	a.attr("workload", workload)
	a.attr("server", strings.Join(slices.Compact(servers), ","))
	a.attr("image", strings.Join(images, ","))
	a.attr("models", strings.Join(models, ","))
	a.attr("gpus", strings.Join(gpus, ","))
	a.attr("namespace", str(dig(doc, "metadata", "namespace")))
	sn.add(*a)
}

func (sn *sniffer) composeServing(f *file, doc map[string]any) {
	services, _ := doc["services"].(map[string]any)
	for name, v := range services {
		svc, _ := v.(map[string]any)
		if svc == nil {
			continue
		}
		image := str(svc["image"])
		cmd := append(strList(svc["entrypoint"]), strList(svc["command"])...)
		server := containerServer(image, cmd)
		gpu := composeGPU(svc)
		if server == "" && !gpu {
			continue
		}
		a := &Asset{Kind: KindServing, Path: f.path, Name: "service/" + name, Format: "compose", Size: f.size}
		a.attr("server", server)
		a.attr("image", image)
		a.attr("models", strings.Join(modelArgs(cmd, envMap(svc["environment"])), ","))
		a.attr("ports", yamlText(svc["ports"]))
		if gpu {
			a.attr("gpus", "requested")
		}
		workload := "serving"
		if server == "" {
			workload = "gpu"
		}
		a.attr("workload", workload)
		sn.add(*a)
	}
}

// podContainers returns the containers of a workload's pod template.
func podContainers(kind string, doc map[string]any) []map[string]any {
	var spec any
	switch kind {
	case "Pod":
		spec = dig(doc, "spec")
	case "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job":
		spec = dig(doc, "spec", "template", "spec")
	case "CronJob":
		spec = dig(doc, "spec", "jobTemplate", "spec", "template", "spec")
	default:
		return nil
	}
	m, _ := spec.(map[string]any)
	var out []map[string]any
	for _, key := range []string{"initContainers", "containers"} {
		list, _ := m[key].([]any)
		for _, c := range list {
			if cm, ok := c.(map[string]any); ok {
				out = append(out, cm)
			}
		}
	}
	return out
}

func containerServer(image string, cmd []string) string {
	if s := imageServer(image); s != "" {
		return s
	}
	line := strings.Join(cmd, " ")
	for _, c := range serverCommands {
		if c.re.MatchString(line) {
			return c.server
		}
	}
	return ""
}

// modelArgs finds the models a server is told to serve: --model,
// --model-id, --model-path, --served-model-name, -m, the argument after
// "vllm serve", and MODEL_ID-style variables.
func modelArgs(cmd []string, env map[string]string) []string {
	var out []string
	for i, a := range cmd {
		if k, v, ok := strings.Cut(a, "="); ok && isModelFlag(k) {
			out = append(out, v)
			continue
		}
		if isModelFlag(a) && i+1 < len(cmd) {
			out = append(out, cmd[i+1])
		}
		if a == "serve" && i > 0 && strings.HasSuffix(cmd[i-1], "vllm") && i+1 < len(cmd) && !strings.HasPrefix(cmd[i+1], "-") {
			out = append(out, cmd[i+1])
		}
	}
	for _, k := range []string{"MODEL_ID", "MODEL_NAME", "HF_MODEL_ID", "MODEL", "OLLAMA_MODEL"} {
		if v := env[k]; v != "" {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func isModelFlag(a string) bool {
	switch a {
	case "--model", "--model-id", "--model-path", "--model_id", "--model_name", "--model-name", "-m", "--hf-model":
		return true
	}
	return false
}

func gpuRequest(resources any) string {
	var out []string
	for _, part := range []string{"limits", "requests"} {
		m, _ := dig(resources, part).(map[string]any)
		for k, v := range m {
			for _, g := range gpuResources {
				if strings.HasPrefix(k, g) {
					out = append(out, k+"="+str(v))
				}
			}
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ",")
}

func composeGPU(svc map[string]any) bool {
	devices, _ := dig(svc, "deploy", "resources", "reservations", "devices").([]any)
	for _, d := range devices {
		if caps := yamlText(dig(d, "capabilities")); strings.Contains(caps, "gpu") {
			return true
		}
		if strings.Contains(str(dig(d, "driver")), "nvidia") {
			return true
		}
	}
	return str(svc["runtime"]) == "nvidia"
}

// envMap reads a container's environment: a Kubernetes list of name and
// value, or a compose map or list of NAME=value.
func envMap(v any) map[string]string {
	out := map[string]string{}
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			out[k] = str(x)
		}
	case []any:
		for _, e := range v {
			switch e := e.(type) {
			case map[string]any:
				out[str(e["name"])] = str(e["value"])
			case string:
				k, x, _ := strings.Cut(e, "=")
				out[k] = x
			}
		}
	}
	return out
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case map[string]any, []any:
		return ""
	}
	return fmt.Sprint(v)
}

// strList reads a command: a list, or a string split at spaces.
func strList(v any) []string {
	switch v := v.(type) {
	case string:
		return strings.Fields(v)
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			out = append(out, str(e))
		}
		return out
	}
	return nil
}

var pbtxtField = regexp.MustCompile(`(?m)^\s*(platform|backend|max_batch_size|input|output|instance_group|name)\s*[:\[{]`)

// tritonConfig reports whether text is a Triton model configuration: a
// protobuf text with a platform or backend and inputs or a batch size.
func tritonConfig(b []byte) bool {
	seen := map[string]bool{}
	for _, m := range pbtxtField.FindAllSubmatch(b, 50) {
		seen[string(m[1])] = true
	}
	return (seen["platform"] || seen["backend"]) && (seen["input"] || seen["max_batch_size"] || seen["instance_group"])
}

func pbtxtValue(b []byte, key string) string {
	re := regexp.MustCompile(`(?m)^\s*` + key + `\s*:\s*"([^"]*)"`)
	if m := re.FindSubmatch(b); m != nil {
		return string(m[1])
	}
	return ""
}

func torchserveConfig(b []byte) bool {
	return propValue(b, "inference_address") != "" || propValue(b, "model_store") != "" && propValue(b, "load_models") != ""
}

func propValue(b []byte, key string) string {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

var dockerOnly = map[string]bool{"RUN": true, "COPY": true, "ADD": true, "CMD": true, "ENTRYPOINT": true, "WORKDIR": true,
	"EXPOSE": true, "ENV": true, "USER": true, "VOLUME": true, "LABEL": true, "ARG": true, "SHELL": true, "HEALTHCHECK": true}
var ollamaOnly = map[string]bool{"PARAMETER": true, "TEMPLATE": true, "SYSTEM": true, "ADAPTER": true, "MESSAGE": true}

// instructions lists a Dockerfile-like text's instructions and the
// argument of its first FROM.
func instructions(b []byte) (map[string]bool, string) {
	seen := map[string]bool{}
	from := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		word = strings.ToUpper(word)
		seen[word] = true
		if f := strings.Fields(rest); word == "FROM" && from == "" && len(f) > 0 {
			from = f[0]
		}
	}
	return seen, from
}

// modelfile reports whether text is an Ollama Modelfile and returns the
// model it builds on.
func modelfile(b []byte) (string, bool) {
	seen, from := instructions(b)
	if from == "" {
		return "", false
	}
	ollama := false
	for w := range seen {
		if dockerOnly[w] {
			return "", false
		}
		ollama = ollama || ollamaOnly[w]
	}
	return from, ollama
}

// dockerfileServer reports whether text is a Dockerfile built on a model
// server's image.
func dockerfileServer(b []byte) (string, bool) {
	seen, from := instructions(b)
	if from == "" || !(seen["RUN"] || seen["CMD"] || seen["ENTRYPOINT"] || seen["COPY"] || seen["ENV"]) {
		return "", false
	}
	return from, imageServer(from) != ""
}
