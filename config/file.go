package config

import (
	"time"
)

// file mirrors the YAML layout. Pointers tell "unset" (take the default)
// from an explicit zero (no limit).
type file struct {
	Listen            *string    `yaml:"listen"`
	AdminListen       *string    `yaml:"admin_listen"`
	DataDir           *string    `yaml:"data_dir"`
	Store             *storeFile `yaml:"store"`
	Redis             *redisFile `yaml:"redis"`
	InsecurePlaintext bool       `yaml:"insecure_plaintext"`
	ShutdownGrace     *string    `yaml:"shutdown_grace"`

	Log *struct {
		Level    *string `yaml:"level"`
		Format   *string `yaml:"format"`
		Requests *bool   `yaml:"requests"`
	} `yaml:"log"`

	TLS *struct {
		CertFile   string `yaml:"cert_file"`
		KeyFile    string `yaml:"key_file"`
		MinVersion string `yaml:"min_version"`
		ClientCA   string `yaml:"client_ca"`
		ClientAuth string `yaml:"client_auth"`
	} `yaml:"tls"`

	Identities []struct {
		Name       string   `yaml:"name"`
		SPIFFEID   string   `yaml:"spiffe_id"`
		CommonName string   `yaml:"common_name"`
		Scopes     []string `yaml:"scopes"`
		Models     []string `yaml:"models"`
		RPM        int64    `yaml:"rpm"`
		TPM        int64    `yaml:"tpm"`
		Burst      int64    `yaml:"burst"`
		MaxConc    int64    `yaml:"max_concurrent"`
	} `yaml:"identities"`

	Limits *struct {
		MaxBodyBytes    *int64  `yaml:"max_body_bytes"`
		MaxHeaderBytes  *int    `yaml:"max_header_bytes"`
		MaxPromptChars  *int    `yaml:"max_prompt_chars"`
		MaxMessages     *int    `yaml:"max_messages"`
		RequestTimeout  *string `yaml:"request_timeout"`
		BodyReadTimeout *string `yaml:"body_read_timeout"`
	} `yaml:"limits"`

	RateLimits *struct {
		Key *limitsFile `yaml:"key"`
		IP  *limitsFile `yaml:"ip"`
	} `yaml:"rate_limits"`

	Access *struct {
		TrustedProxies []string `yaml:"trusted_proxies"`
		IPAllow        []string `yaml:"ip_allow"`
		IPDeny         []string `yaml:"ip_deny"`
	} `yaml:"access"`

	Routes []routeFile `yaml:"routes"`

	Guards *guardsFile `yaml:"guards"`

	Monitoring *monitoringFile `yaml:"monitoring"`
	Feedback   *feedbackFile   `yaml:"feedback"`

	Audit *struct {
		Mode               *string      `yaml:"mode"`
		Capture            *captureFile `yaml:"capture"`
		CheckpointEvery    *int64       `yaml:"checkpoint_every"`
		CheckpointInterval *string      `yaml:"checkpoint_interval"`
		BatchMax           *int         `yaml:"batch_max"`
		BatchWait          *string      `yaml:"batch_wait"`
		PayloadRetention   *string      `yaml:"payload_retention"`
		Forwarders         []struct {
			Name       string    `yaml:"name"`
			Type       string    `yaml:"type"`
			Address    string    `yaml:"address"`
			TLS        *tlsFile  `yaml:"tls"`
			URL        string    `yaml:"url"`
			Credential *credFile `yaml:"credential"`
			BatchSize  int       `yaml:"batch_size"`
			Path       string    `yaml:"path"`
			MaxBytes   int64     `yaml:"max_bytes"`
			MaxFiles   int       `yaml:"max_files"`
			Format     string    `yaml:"format"`
		} `yaml:"forwarders"`
		Witnesses []struct {
			Dir string `yaml:"dir"`
			URL string `yaml:"url"`
			Key string `yaml:"key"`
		} `yaml:"witnesses"`
		RequireWitnesses *bool `yaml:"require_witnesses"`
		WitnessServer    *struct {
			Dir     string   `yaml:"dir"`
			KeyFile string   `yaml:"key_file"`
			Logs    []string `yaml:"logs"`
		} `yaml:"witness_server"`
	} `yaml:"audit"`
}

type captureFile struct {
	Input  string `yaml:"input"`
	Output string `yaml:"output"`
}

type credFile struct {
	Env    string `yaml:"env"`
	File   string `yaml:"file"`
	Header string `yaml:"header"`
	Prefix string `yaml:"prefix"`
}

type tlsFile struct {
	CAFile     string `yaml:"ca_file"`
	CertFile   string `yaml:"cert_file"`
	KeyFile    string `yaml:"key_file"`
	ServerName string `yaml:"server_name"`
}

type limitsFile struct {
	RPM           *int64 `yaml:"rpm"`
	TPM           *int64 `yaml:"tpm"`
	Burst         *int64 `yaml:"burst"`
	MaxConcurrent *int64 `yaml:"max_concurrent"`
}

type routeFile struct {
	Model    string       `yaml:"model"`
	Protocol string       `yaml:"protocol"`
	Capture  *captureFile `yaml:"capture"`
	Guards   string       `yaml:"guards"`
	// Registry names the registry model served; model: NAME@production
	// says the same with the public name NAME.
	Registry string `yaml:"registry"`
	// Outputs limits what a kserve_v2 route's answers reveal.
	Outputs *struct {
		Keep     []string `yaml:"keep"`
		Decimals *int     `yaml:"decimals"`
		TopK     int      `yaml:"top_k"`
	} `yaml:"outputs"`
	// MaxBatch caps the inputs of one kserve_v2 request.
	MaxBatch int `yaml:"max_batch"`
	Upstream struct {
		URL                   string    `yaml:"url"`
		Model                 string    `yaml:"model"`
		ModelVersion          string    `yaml:"model_version"`
		Credential            *credFile `yaml:"credential"`
		TLS                   *tlsFile  `yaml:"tls"`
		ConnectTimeout        string    `yaml:"connect_timeout"`
		ResponseHeaderTimeout string    `yaml:"response_header_timeout"`
		Timeout               string    `yaml:"timeout"`
		MaxResponseBytes      int64     `yaml:"max_response_bytes"`
	} `yaml:"upstream"`
}

// duration parses a duration field; empty means unset.
func duration(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, errNegative
	}
	return d, nil
}
