package inventory

import "testing"

func TestScanCode(t *testing.T) {
	cases := []struct {
		lang, src               string
		providers, models, urls string
		lines                   string // "" when it does not matter
	}{
		{"python", "import os, openai as oa\nresp = oa.chat.completions.create(\n    model=\"gpt-4o-mini\",\n)\n", "OpenAI", "gpt-4o-mini", "", "1,2"},
		{"python", "    from langchain_openai import ChatOpenAI\nllm = ChatOpenAI(model_name='gpt-4.1')\n", "LangChain", "gpt-4.1", "", ""},
		{"python", "from transformers import AutoModel\nm = AutoModel.from_pretrained(\"bert-base-uncased\")\n", "Hugging Face", "bert-base-uncased", "", ""},
		{"typescript", "import {\n  Anthropic,\n} from \"@anthropic-ai/sdk\";\nconst r = await c.messages.create({ model: 'claude-opus-4-1' })\n", "Anthropic", "claude-opus-4-1", "", ""},
		{"javascript", "const { GoogleGenerativeAI } = require('@google/generative-ai')\n", "Google", "", "", ""},
		{"go", "package x\n\nimport (\n\t\"fmt\"\n\toai \"github.com/openai/openai-go\"\n)\n", "OpenAI", "", "", ""},
		{"java", "import dev.langchain4j.model.ollama.OllamaChatModel;\n", "LangChain4j", "", "", ""},
		{"python", "import requests\nrequests.post(\"https://api.openai.com/v1/chat/completions\", json={})\n", "OpenAI", "", "https://api.openai.com/v1/chat/completions", ""},
		{"python", "import requests\nBASE = 'http://gpu-box:11434/api/generate'\n", "Ollama", "", "http://gpu-box:11434/api/generate", ""},
		{"python", "from openai import OpenAI\nc = OpenAI(base_url=\"http://mg.internal:8080/v1\")\n", "OpenAI", "", "http://mg.internal:8080/v1", ""},
	}
	for _, c := range cases {
		u := scanCode(c.lang, []byte(c.src))
		if u == nil {
			t.Errorf("%s: not found:\n%s", c.lang, c.src)
			continue
		}
		if got := joinKeys(u.providers); got != c.providers {
			t.Errorf("providers %q, want %q:\n%s", got, c.providers, c.src)
		}
		if c.models != "" && !u.models[c.models] {
			t.Errorf("models %v lack %q:\n%s", u.models, c.models, c.src)
		}
		if c.urls != "" && !u.urls[c.urls] {
			t.Errorf("urls %v lack %q", u.urls, c.urls)
		}
		if c.lines != "" {
			var a Asset
			u.attrs(&a)
			if a.Attrs["lines"] != c.lines {
				t.Errorf("lines %q, want %q:\n%s", a.Attrs["lines"], c.lines, c.src)
			}
		}
	}
	for lang, src := range map[string]string{
		"python":     "import openairport\nfrom anthropicology import x\n# import openai (a comment)\nprint(\"gpt-4o\")\n",
		"javascript": "import fs from 'fs';\nconst s = 'openai';\n",
		"go":         "package x\n\nimport \"github.com/sashabaranov/go-openai-mock-x\"\n",
	} {
		if u := scanCode(lang, []byte(src)); u != nil {
			t.Errorf("%s look-alike reported: %+v", lang, u.providers)
		}
	}
}
