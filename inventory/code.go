package inventory

import (
	"bytes"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	ahocorasick "github.com/BobuSumisu/aho-corasick"
	"github.com/modelgate/modelgate/finding"
)

// codeExts name source files by language.
var codeExts = map[string]string{
	".py": "python", ".pyw": "python", ".pyi": "python",
	".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
	".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
	".go": "go", ".java": "java", ".kt": "kotlin", ".kts": "kotlin", ".scala": "scala",
}

// codeLanguage names a source file's language by its extension, or by its
// #! line when it has none.
func codeLanguage(name string, head []byte) string {
	if l, ok := codeExts[strings.ToLower(filepath.Ext(name))]; ok {
		return l
	}
	if bytes.HasPrefix(head, []byte("#!")) {
		line := head[:max(0, bytes.IndexByte(head, '\n'))]
		switch {
		case bytes.Contains(line, []byte("python")):
			return "python"
		case bytes.Contains(line, []byte("node")), bytes.Contains(line, []byte("deno")), bytes.Contains(line, []byte("bun")):
			return "javascript"
		}
	}
	return ""
}

// aiModules map the modules of AI client libraries, by the prefix an
// import names, to the provider or framework they reach. Prefixes end
// where a module name does ("openai" is not "openairport").
var aiModules = map[string][]struct{ prefix, provider string }{
	"python": {
		{"openai", "OpenAI"}, {"anthropic", "Anthropic"}, {"google.generativeai", "Google"}, {"google.genai", "Google"},
		{"vertexai", "Google"}, {"google.cloud.aiplatform", "Google"}, {"mistralai", "Mistral"}, {"cohere", "Cohere"},
		{"huggingface_hub", "Hugging Face"}, {"transformers", "Hugging Face"}, {"diffusers", "Hugging Face"},
		{"sentence_transformers", "Hugging Face"}, {"langchain", "LangChain"}, {"langchain_*", "LangChain"},
		{"langgraph", "LangChain"}, {"llama_index", "LlamaIndex"}, {"vllm", "vLLM"}, {"ollama", "Ollama"},
		{"litellm", "LiteLLM"}, {"groq", "Groq"}, {"together", "Together"}, {"replicate", "Replicate"},
		{"llama_cpp", "llama.cpp"}, {"dspy", "DSPy"}, {"crewai", "CrewAI"}, {"autogen", "AutoGen"},
		{"autogen_*", "AutoGen"}, {"sglang", "SGLang"}, {"bentoml", "BentoML"},
	},
	"javascript": {
		{"openai", "OpenAI"}, {"@anthropic-ai/sdk", "Anthropic"}, {"@google/generative-ai", "Google"}, {"@google/genai", "Google"},
		{"@google-cloud/vertexai", "Google"}, {"@mistralai/mistralai", "Mistral"}, {"cohere-ai", "Cohere"},
		{"@huggingface/inference", "Hugging Face"}, {"@huggingface/transformers", "Hugging Face"}, {"@xenova/transformers", "Hugging Face"},
		{"langchain", "LangChain"}, {"@langchain/*", "LangChain"}, {"llamaindex", "LlamaIndex"}, {"ollama", "Ollama"},
		{"ai", "Vercel AI SDK"}, {"@ai-sdk/*", "Vercel AI SDK"}, {"groq-sdk", "Groq"}, {"replicate", "Replicate"},
		{"@aws-sdk/client-bedrock-runtime", "AWS Bedrock"}, {"@azure/openai", "Azure OpenAI"},
	},
	"go": {
		{"github.com/sashabaranov/go-openai", "OpenAI"}, {"github.com/openai/openai-go", "OpenAI"},
		{"github.com/anthropics/anthropic-sdk-go", "Anthropic"}, {"google.golang.org/genai", "Google"},
		{"github.com/google/generative-ai-go", "Google"}, {"cloud.google.com/go/vertexai", "Google"},
		{"github.com/tmc/langchaingo", "LangChain"}, {"github.com/ollama/ollama/api", "Ollama"},
		{"github.com/cohere-ai/cohere-go", "Cohere"}, {"github.com/gage-technologies/mistral-go", "Mistral"},
		{"github.com/aws/aws-sdk-go-v2/service/bedrockruntime", "AWS Bedrock"},
	},
	"java": {
		{"com.openai", "OpenAI"}, {"com.theokanning.openai", "OpenAI"}, {"com.azure.ai.openai", "Azure OpenAI"},
		{"com.anthropic", "Anthropic"}, {"dev.langchain4j", "LangChain4j"}, {"com.google.cloud.vertexai", "Google"},
		{"com.google.genai", "Google"}, {"io.github.ollama4j", "Ollama"}, {"software.amazon.awssdk.services.bedrockruntime", "AWS Bedrock"},
		{"ai.djl", "DJL"}, {"org.springframework.ai", "Spring AI"},
	},
}

func init() {
	aiModules["typescript"] = aiModules["javascript"]
	aiModules["kotlin"] = aiModules["java"]
	aiModules["scala"] = aiModules["java"]
}

// aiHosts are the API hosts of AI providers, for code that calls them
// over plain HTTP, without a client library.
var aiHosts = []struct{ host, provider string }{
	{"api.openai.com", "OpenAI"}, {".openai.azure.com", "Azure OpenAI"}, {"api.anthropic.com", "Anthropic"},
	{"generativelanguage.googleapis.com", "Google"}, {"aiplatform.googleapis.com", "Google"},
	{"api.mistral.ai", "Mistral"}, {"api.cohere.ai", "Cohere"}, {"api.cohere.com", "Cohere"},
	{"api-inference.huggingface.co", "Hugging Face"}, {"router.huggingface.co", "Hugging Face"},
	{"api.groq.com", "Groq"}, {"api.together.xyz", "Together"}, {"openrouter.ai", "OpenRouter"},
	{"api.deepseek.com", "DeepSeek"}, {"api.x.ai", "xAI"}, {"api.perplexity.ai", "Perplexity"},
	{"bedrock-runtime.", "AWS Bedrock"}, {"api.replicate.com", "Replicate"},
}

// codeTrie finds, in one pass, whether a file can mention AI at all;
// only such files are searched with the regular expressions below.
var codeTrie = ahocorasick.NewTrieBuilder().AddStrings([]string{
	"openai", "anthropic", "genai", "generativeai", "vertexai", "aiplatform", "mistral", "cohere", "huggingface",
	"transformers", "diffusers", "langchain", "langgraph", "llama_index", "llamaindex", "vllm", "ollama", "litellm",
	"groq", "together", "bedrock", "replicate", "llama_cpp", "dspy", "crewai", "autogen", "sglang", "bentoml",
	"@ai-sdk", "'ai'", "\"ai\"", "langchain4j", "springframework.ai", "ai.djl", "11434", "openrouter", "deepseek",
	"api.x.ai", "perplexity", "/v1/chat/completions", "/v1/completions",
}).Build()

var (
	pyImport   = regexp.MustCompile(`(?m)^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import\b|import[ \t]+([\w.]+(?:[ \t]*,[ \t]*[\w.]+)*))`)
	jsImport   = regexp.MustCompile(`(?:\bfrom[ \t]*|\bimport[ \t]*\(?[ \t]*|\brequire[ \t]*\([ \t]*)['"]([^'"\n]+)['"]`)
	goImport   = regexp.MustCompile(`(?m)^[ \t]*(?:import[ \t]+)?(?:[\w.]+[ \t]+)?"([a-z0-9.-]+\.[a-z]+/[^"\n]+)"`)
	javaImport = regexp.MustCompile(`(?m)^[ \t]*import[ \t]+(?:static[ \t]+)?([\w.]+)`)
	// modelLiteral is a model argument written as a literal: model=...,
	// "model": ..., model_name=..., model_id=..., .model(...).
	modelLiteral = regexp.MustCompile(`(?i)\b(?:model|model_name|model_id|modelName|modelId|deployment_name|repo_id|pretrained_model_name_or_path)["']?\s*(?:[=:]|\(\s*)\s*["'\x60]([A-Za-z0-9][\w.:/@-]{1,120})["'\x60]`)
	// knownModel is a string literal that names a well-known model family.
	knownModel  = regexp.MustCompile(`["'\x60]((?:gpt-[0-9][\w.-]*|o[134](?:-mini|-pro|-preview)?(?:-[\d-]+)?|chatgpt-[\w.-]+|text-embedding-[\w-]+|claude-[\w.-]+|gemini-[\w.-]+|(?:open-)?mistral-[\w.-]+|mixtral-[\w.-]+|codestral-[\w.-]+|command-r[\w.-]*|embed-(?:english|multilingual)-[\w.-]+|(?:meta-llama|mistralai|google|microsoft|Qwen|deepseek-ai|tiiuae|bigscience|sentence-transformers)/[\w.-]+|llama[\d.]+[\w.:-]*|qwen[\d.]*[\w.:-]*|deepseek-[\w.:-]+|gemma[\d.]*[\w.:-]*|phi[\d.]+[\w.:-]*))["'\x60]`)
	urlLiteral  = regexp.MustCompile(`["'\x60](https?://[^"'\x60\s]{3,200})["'\x60]`)
	baseURLArg  = regexp.MustCompile(`(?i)\b(?:base_url|baseURL|base_path|api_base|openai_api_base|api_base_url|azure_endpoint|endpoint|host)["']?\s*[=:]\s*["'\x60](https?://[^"'\x60\s]{3,200})["'\x60]`)
	callPattern = regexp.MustCompile(`\b(?:chat\.completions\.create|completions\.create|responses\.create|embeddings\.create|messages\.create|messages\.stream|generate_content|generateContent|GenerateContent|CreateChatCompletion|ChatCompletion\.create|Messages\.New|invoke_model|converse|ChatOpenAI|AzureChatOpenAI|ChatAnthropic|ChatGoogleGenerativeAI|ChatOllama|ChatMistralAI|InferenceClient|from_pretrained|pipeline|SamplingParams|generateText|streamText|ollama\.(?:chat|generate|embed)|litellm\.completion|completion)\s*\(`)
)

// codeUse is what one file's code says about its use of AI.
type codeUse struct {
	providers, libraries, models, urls map[string]bool
	lines                              []int
	direct                             []string // public API hosts called
}

// scanCode finds a source text's AI imports, calls, model names and base
// URLs; it returns nil when the text does not use AI.
func scanCode(lang string, text []byte) *codeUse {
	if codeTrie.MatchFirst(text) == nil {
		return nil
	}
	u := &codeUse{providers: map[string]bool{}, libraries: map[string]bool{}, models: map[string]bool{}, urls: map[string]bool{}}
	addLine := func(off int) {
		if len(u.lines) < 20 {
			u.lines = append(u.lines, 1+bytes.Count(text[:off], []byte{'\n'}))
		}
	}
	for _, mod := range imports(lang, text) {
		if p, lib := moduleProvider(lang, mod.name); p != "" {
			u.providers[p] = true
			u.libraries[lib] = true
			addLine(mod.off)
		}
	}
	for _, m := range urlLiteral.FindAllSubmatchIndex(text, -1) {
		raw := string(text[m[2]:m[3]])
		pu, err := url.Parse(raw)
		if err != nil {
			continue
		}
		host := strings.ToLower(pu.Host)
		for _, h := range aiHosts {
			if host == h.host || strings.HasPrefix(h.host, ".") && strings.HasSuffix(host, h.host) ||
				strings.HasSuffix(h.host, ".") && strings.HasPrefix(host, h.host) {
				u.providers[h.provider] = true
				u.urls[raw] = true
				u.direct = append(u.direct, host)
				addLine(m[0])
			}
		}
		if strings.HasSuffix(host, ":11434") {
			u.providers["Ollama"] = true
			u.urls[raw] = true
			addLine(m[0])
		}
		if strings.Contains(pu.Path, "/chat/completions") || strings.HasSuffix(pu.Path, "/completions") {
			u.urls[raw] = true
			addLine(m[0])
		}
	}
	if len(u.providers) == 0 && len(u.urls) == 0 {
		return nil
	}
	for _, m := range baseURLArg.FindAllSubmatch(text, -1) {
		u.urls[string(m[1])] = true
	}
	for _, m := range modelLiteral.FindAllSubmatch(text, -1) {
		if name := string(m[1]); plausibleModelName(name) {
			u.models[name] = true
		}
	}
	for _, m := range knownModel.FindAllSubmatch(text, -1) {
		u.models[string(m[1])] = true
	}
	for _, m := range callPattern.FindAllIndex(text, -1) {
		addLine(m[0])
	}
	slices.Sort(u.lines)
	u.lines = slices.Compact(u.lines)
	return u
}

// plausibleModelName filters what a model= argument holds: not a path,
// a URL or a variable written as a placeholder.
func plausibleModelName(s string) bool {
	return !strings.HasPrefix(s, "http") && !strings.HasPrefix(s, "/") && !strings.Contains(s, "{") &&
		!strings.HasSuffix(s, ".py") && strings.ToLower(s) != "model"
}

type module struct {
	name string
	off  int
}

// imports lists the modules a source text imports, with where.
func imports(lang string, text []byte) []module {
	var out []module
	switch lang {
	case "python":
		for _, m := range pyImport.FindAllSubmatchIndex(text, -1) {
			if m[2] >= 0 {
				out = append(out, module{string(text[m[2]:m[3]]), m[0]})
				continue
			}
			for name := range strings.SplitSeq(string(text[m[4]:m[5]]), ",") {
				out = append(out, module{strings.TrimSpace(name), m[0]})
			}
		}
	case "javascript", "typescript":
		for _, m := range jsImport.FindAllSubmatchIndex(text, -1) {
			out = append(out, module{string(text[m[2]:m[3]]), m[0]})
		}
	case "go":
		for _, m := range goImport.FindAllSubmatchIndex(text, -1) {
			out = append(out, module{string(text[m[2]:m[3]]), m[0]})
		}
	case "java", "kotlin", "scala":
		for _, m := range javaImport.FindAllSubmatchIndex(text, -1) {
			out = append(out, module{string(text[m[2]:m[3]]), m[0]})
		}
	}
	return out
}

// moduleProvider maps an imported module to the provider it reaches and
// the library that does.
func moduleProvider(lang, mod string) (provider, library string) {
	sep := "."
	switch lang {
	case "javascript", "typescript", "go":
		sep = "/"
	}
	for _, m := range aiModules[lang] {
		if p, ok := strings.CutSuffix(m.prefix, "*"); ok {
			if strings.HasPrefix(mod, p) && len(mod) > len(p) {
				return m.provider, mod
			}
			continue
		}
		if mod == m.prefix || strings.HasPrefix(mod, m.prefix+sep) {
			return m.provider, m.prefix
		}
	}
	return "", ""
}

// code records a source file that uses AI.
func (sn *sniffer) code(f *file, text []byte, lang string, kind Kind) *Asset {
	u := scanCode(lang, text)
	if u == nil {
		return nil
	}
	a := Asset{Kind: kind, Path: f.path, Name: f.name, Format: lang, Size: f.size}
	u.attrs(&a)
	if len(u.lines) > 0 {
		a.Line = u.lines[0]
	}
	sn.fingerprint(f, &a)
	return &a
}

func (u *codeUse) attrs(a *Asset) {
	a.attr("providers", joinKeys(u.providers))
	a.attr("libraries", joinKeys(u.libraries))
	a.attr("models", joinKeys(u.models))
	a.attr("base_urls", joinKeys(u.urls))
	if len(u.lines) > 0 {
		ls := make([]string, len(u.lines))
		for i, l := range u.lines {
			ls[i] = strconv.Itoa(l)
		}
		a.attr("lines", strings.Join(ls, ","))
	}
	if len(u.direct) > 0 {
		slices.Sort(u.direct)
		a.Findings = append(a.Findings, finding.Finding{RuleID: "INV-AI-DIRECT", Severity: finding.Low,
			Title: "code calls an AI provider's public API directly", Location: "line " + a.Attrs["lines"],
			Evidence:    strings.Join(slices.Compact(u.direct), ", "),
			Remediation: "send the calls through the modelgate gateway, so that they are authenticated, guarded and audited",
			References:  []string{"LLM02", "LLM10"}})
	}
}

func joinKeys(m map[string]bool) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}
