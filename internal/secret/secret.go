// Package secret reads credentials from where the configuration says they
// are (an environment variable or a file), never from the configuration.
package secret

import (
	"fmt"
	"os"
	"strings"

	"github.com/modelgate/modelgate/store"
)

// Header returns the header and value that carry a credential: by default
// "Authorization: Bearer <secret>".
func Header(c *store.Credential) (name, value string, err error) {
	v, err := Read(c)
	if err != nil {
		return "", "", err
	}
	name, value = c.Header, c.Prefix+v
	if name == "" {
		name = "Authorization"
		if c.Prefix == "" {
			value = "Bearer " + v
		}
	}
	return name, value, nil
}

// Read returns the secret itself.
func Read(c *store.Credential) (string, error) {
	switch {
	case c.Env != "" && c.File != "":
		return "", fmt.Errorf("credential: set env or file, not both")
	case c.Env != "":
		v := os.Getenv(c.Env)
		if v == "" {
			return "", fmt.Errorf("credential: environment variable %s is empty or unset", c.Env)
		}
		return v, nil
	case c.File != "":
		b, err := os.ReadFile(c.File)
		if err != nil {
			return "", fmt.Errorf("credential: %w", err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("credential: file %s is empty", c.File)
		}
		return v, nil
	}
	return "", fmt.Errorf("credential: set env or file")
}
