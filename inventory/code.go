package inventory

import (
	"bytes"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

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

// The regular expressions below run only on files that import an AI
// client or name an AI API's URL: finding those is done by hand (imports
// line by line, URLs from their "://"), because a regular expression or
// a keyword automaton over every byte of every source file was most of
// the cost of a walk.
var (
	// modelLiteral is a model argument written as a literal: model=...,
	// "model": ..., model_name=..., model_id=..., .model(...).
	modelLiteral = regexp.MustCompile(`(?i)\b(?:model|model_name|model_id|modelName|modelId|deployment_name|repo_id|pretrained_model_name_or_path)["']?\s*(?:[=:]|\(\s*)\s*["'\x60]([A-Za-z0-9][\w.:/@-]{1,120})["'\x60]`)
	// pretrainedArg is the repository a Hugging Face loader is given
	// first: from_pretrained("org/name"), snapshot_download("org/name").
	pretrainedArg = regexp.MustCompile(`\b(?:from_pretrained|snapshot_download|hf_hub_download|SentenceTransformer|pipeline\([^)]*?model)\s*[(=]\s*["']([A-Za-z0-9][\w.:/@-]{1,120})["']`)
	// knownModel is a string literal that names a well-known model family.
	knownModel = regexp.MustCompile(`["'\x60]((?:gpt-[0-9][\w.-]*|o[134](?:-mini|-pro|-preview)?(?:-[\d-]+)?|chatgpt-[\w.-]+|text-embedding-[\w-]+|claude-[\w.-]+|gemini-[\w.-]+|(?:open-)?mistral-[\w.-]+|mixtral-[\w.-]+|codestral-[\w.-]+|command-r[\w.-]*|embed-(?:english|multilingual)-[\w.-]+|(?:meta-llama|mistralai|google|microsoft|Qwen|deepseek-ai|tiiuae|bigscience|sentence-transformers)/[\w.-]+|llama[\d.]+[\w.:-]*|qwen[\d.]*[\w.:-]*|deepseek-[\w.:-]+|gemma[\d.]*[\w.:-]*|phi[\d.]+[\w.:-]*))["'\x60]`)
	urlLiteral = regexp.MustCompile(`["'\x60](https?://[^"'\x60\s]{3,200})["'\x60]`)
	baseURLArg = regexp.MustCompile(`(?i)\b(?:base_url|baseURL|base_path|api_base|openai_api_base|api_base_url|azure_endpoint|endpoint|host)["']?\s*[=:]\s*["'\x60](https?://[^"'\x60\s]{3,200})["'\x60]`)
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
	var u *codeUse
	use := func() *codeUse {
		if u == nil {
			u = &codeUse{providers: map[string]bool{}, libraries: map[string]bool{}, models: map[string]bool{}, urls: map[string]bool{}}
		}
		return u
	}
	addLine := func(off int) {
		if len(u.lines) < 20 {
			u.lines = append(u.lines, 1+bytes.Count(text[:off], []byte{'\n'}))
		}
	}
	for _, mod := range imports(lang, text) {
		if p, lib := moduleProvider(lang, mod.name); p != "" {
			use().providers[p] = true
			u.libraries[lib] = true
			addLine(mod.off)
		}
	}
	for _, lit := range urlLiterals(text) {
		raw := string(text[lit[0]:lit[1]])
		pu, err := url.Parse(raw)
		if err != nil {
			continue
		}
		host := strings.ToLower(pu.Host)
		for _, h := range aiHosts {
			if host == h.host || strings.HasPrefix(h.host, ".") && strings.HasSuffix(host, h.host) ||
				strings.HasSuffix(h.host, ".") && strings.HasPrefix(host, h.host) {
				use().providers[h.provider] = true
				u.urls[raw] = true
				u.direct = append(u.direct, host)
				addLine(lit[0])
			}
		}
		if strings.HasSuffix(host, ":11434") {
			use().providers["Ollama"] = true
			u.urls[raw] = true
			addLine(lit[0])
		}
		if strings.Contains(pu.Path, "/chat/completions") || strings.HasSuffix(pu.Path, "/completions") {
			use().urls[raw] = true
			addLine(lit[0])
		}
	}
	if u == nil {
		return nil
	}
	// Line by line, each expression only where its words are.
	for off := 0; off < len(text); {
		end := bytes.IndexByte(text[off:], '\n')
		if end < 0 {
			end = len(text) - off
		}
		line := text[off : off+end]
		at := off
		off += end + 1
		if callSite(line) {
			addLine(at)
		}
		if !bytes.ContainsAny(line, "\"'`") {
			continue
		}
		if bytes.Contains(line, []byte("://")) {
			for _, m := range baseURLArg.FindAllSubmatch(line, -1) {
				u.urls[string(m[1])] = true
			}
		}
		if containsFold(line, "model", 'd') || containsFold(line, "repo_id", 'p') || containsFold(line, "deployment", 'y') {
			for _, m := range modelLiteral.FindAllSubmatch(line, -1) {
				if name := string(m[1]); plausibleModelName(name) {
					u.models[name] = true
				}
			}
		}
		if bytes.Contains(line, []byte("pretrained")) || bytes.Contains(line, []byte("_download")) || bytes.Contains(line, []byte("SentenceTransformer")) {
			for _, m := range pretrainedArg.FindAllSubmatch(line, -1) {
				u.models[string(m[1])] = true
			}
		}
		if namesModelFamily(line) {
			for _, m := range knownModel.FindAllSubmatch(line, -1) {
				u.models[string(m[1])] = true
			}
		}
	}
	slices.Sort(u.lines)
	u.lines = slices.Compact(u.lines)
	return u
}

// modelFamilies are the words that start a well-known model's name.
var modelFamilies = []string{"gpt", "o1", "o3", "o4", "chatgpt", "text-embedding", "claude", "gemini", "mistral", "mixtral",
	"codestral", "command-r", "embed-", "llama", "qwen", "deepseek", "gemma", "phi", "/"}

func namesModelFamily(line []byte) bool {
	for _, w := range modelFamilies {
		if bytes.Contains(line, []byte(w)) || w[0] >= 'a' && w[0] <= 'z' && bytes.Contains(line, []byte(strings.ToUpper(w[:1])+w[1:])) {
			return true
		}
	}
	return false
}

// calls are the names (the last parts of a dotted name) of the functions
// and constructors that call a model, by client library.
var calls = map[string][]string{
	"create": {"chat.completions.create", "completions.create", "responses.create", "embeddings.create", "messages.create", "ChatCompletion.create"},
	"stream": {"messages.stream"}, "New": {"Messages.New"}, "chat": {"ollama.chat"}, "generate": {"ollama.generate"}, "embed": {"ollama.embed"},
	"completion": {"litellm.completion", "completion"}, "generate_content": nil, "generateContent": nil, "GenerateContent": nil,
	"CreateChatCompletion": nil, "invoke_model": nil, "converse": nil, "ChatOpenAI": nil, "AzureChatOpenAI": nil, "ChatAnthropic": nil,
	"ChatGoogleGenerativeAI": nil, "ChatOllama": nil, "ChatMistralAI": nil, "InferenceClient": nil, "from_pretrained": nil,
	"pipeline": nil, "SamplingParams": nil, "generateText": nil, "streamText": nil,
}

// callSite reports whether a line calls a model: a name in calls before
// an opening parenthesis.
func callSite(line []byte) bool {
	for i := 0; ; {
		j := bytes.IndexByte(line[i:], '(')
		if j < 0 {
			return false
		}
		k := i + j
		i = k + 1
		end := k
		for end > 0 && (line[end-1] == ' ' || line[end-1] == '\t') {
			end--
		}
		start := end
		for start > 0 && (isIdent(line[start-1]) && line[start-1] != '$') {
			start--
		}
		dotted := string(line[start:end])
		last := dotted[strings.LastIndexByte(dotted, '.')+1:]
		full, ok := calls[last]
		if !ok {
			continue
		}
		if full == nil {
			return true
		}
		for _, f := range full {
			if dotted == f || strings.HasSuffix(dotted, "."+f) {
				return true
			}
		}
	}
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

// imports lists the modules a source text imports, with where: Python's
// import and from lines, Go's import declarations, Java's, Kotlin's and
// Scala's import lines, and in JavaScript and TypeScript every module
// named after from, require( or import( (an import may span lines).
func imports(lang string, text []byte) []module {
	var out []module
	switch lang {
	case "javascript", "typescript":
		for _, kw := range []string{"from", "require(", "import(", "import"} {
			for i := 0; ; {
				j := bytes.Index(text[i:], []byte(kw))
				if j < 0 {
					break
				}
				at := i + j
				i = at + len(kw)
				if at > 0 && isIdent(text[at-1]) {
					continue
				}
				rest := bytes.TrimLeft(text[i:min(len(text), i+512)], " \t(")
				if len(rest) == 0 || rest[0] != '\'' && rest[0] != '"' {
					continue
				}
				if end := bytes.IndexByte(rest[1:], rest[0]); end > 0 && bytes.IndexByte(rest[1:1+end], '\n') < 0 {
					out = append(out, module{string(rest[1 : 1+end]), at})
				}
			}
		}
		return out
	}
	inGoBlock := false
	for off := 0; off < len(text); {
		end := bytes.IndexByte(text[off:], '\n')
		if end < 0 {
			end = len(text) - off
		}
		line := bytes.TrimLeft(text[off:off+end], " \t")
		at := off
		off += end + 1
		switch lang {
		case "python":
			if rest, ok := bytes.CutPrefix(line, []byte("import ")); ok {
				for m := range bytes.SplitSeq(rest, []byte(",")) {
					if f := bytes.Fields(m); len(f) > 0 {
						out = append(out, module{string(f[0]), at})
					}
				}
			} else if rest, ok := bytes.CutPrefix(line, []byte("from ")); ok {
				if f := bytes.Fields(rest); len(f) >= 2 && string(f[1]) == "import" {
					out = append(out, module{string(f[0]), at})
				}
			}
		case "go":
			switch {
			case bytes.HasPrefix(line, []byte("import (")):
				inGoBlock = true
			case inGoBlock && bytes.HasPrefix(line, []byte(")")):
				inGoBlock = false
			case inGoBlock || bytes.HasPrefix(line, []byte("import ")):
				if q := bytes.IndexByte(line, '"'); q >= 0 {
					if e := bytes.IndexByte(line[q+1:], '"'); e > 0 {
						out = append(out, module{string(line[q+1 : q+1+e]), at})
					}
				}
			}
		case "java", "kotlin", "scala":
			if rest, ok := bytes.CutPrefix(line, []byte("import ")); ok {
				rest = bytes.TrimPrefix(bytes.TrimLeft(rest, " \t"), []byte("static "))
				if f := bytes.FieldsFunc(rest, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' || r == '\r' }); len(f) > 0 {
					out = append(out, module{string(f[0]), at})
				}
			}
		}
	}
	return out
}

func isIdent(c byte) bool {
	return c == '_' || c == '$' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// urlLiterals returns the spans of the http and https URLs written as
// string literals: after a quote or backquote, up to the next one.
func urlLiterals(text []byte) [][2]int {
	var out [][2]int
	for i := 0; ; {
		j := bytes.Index(text[i:], []byte("://"))
		if j < 0 {
			return out
		}
		at := i + j
		i = at + 3
		start := at
		for start > 0 && start > at-6 && text[start-1] >= 'a' && text[start-1] <= 'z' {
			start--
		}
		if scheme := string(text[start:at]); scheme != "http" && scheme != "https" || start == 0 {
			continue
		}
		q := text[start-1]
		if q != '"' && q != '\'' && q != '`' {
			continue
		}
		end := i
		for end < len(text) && end-start < 200 && text[end] != q && text[end] != ' ' && text[end] != '\n' && text[end] != '\t' {
			end++
		}
		if end < len(text) && text[end] == q && end-i >= 3 {
			out = append(out, [2]int{start, end})
		}
	}
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
