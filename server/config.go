package server

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/signetproject/signet/oidc"
)

// Config is the server's configuration file.
//
//	issuers:
//	  - url: https://token.actions.githubusercontent.com
//	    type: github-workflow
//	  - url: https://accounts.example.com
//	    type: email
//	    clientID: sigstore
//	metaIssuers:
//	  - url: https://oidc.eks.*.amazonaws.com/id/*
//	    type: kubernetes
type Config struct {
	// Issuers are the OIDC issuers whose tokens the CA accepts.
	Issuers []oidc.IssuerConfig `yaml:"issuers"`
	// MetaIssuers are issuer URL patterns, as Fulcio's meta issuers: each
	// "*" stands for one host label or path segment of letters, digits,
	// '-' and '_'; every issuer whose URL matches is trusted with the
	// pattern's settings.
	MetaIssuers []oidc.IssuerConfig `yaml:"metaIssuers"`
}

// AllIssuers returns the issuers and meta issuers, for oidc.NewVerifier.
func (c Config) AllIssuers() []oidc.IssuerConfig {
	return append(append([]oidc.IssuerConfig(nil), c.Issuers...), c.MetaIssuers...)
}

// LoadConfig reads and validates a YAML config file. Unknown fields are an
// error naming their line; so is every invalid issuer.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes and validates a YAML config.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, err
	}
	var extra any
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return Config{}, errors.New("more than one YAML document")
	}
	return cfg, cfg.Validate()
}

// Validate reports the first invalid setting.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for i, is := range c.Issuers {
		if err := is.Validate(); err != nil {
			return fmt.Errorf("issuers[%d]: %w", i, err)
		}
		if is.Type == oidc.TypeDev {
			return fmt.Errorf("issuers[%d]: type dev is reserved for the built-in issuer (use --dev)", i)
		}
		if seen[is.URL] {
			return fmt.Errorf("issuers[%d]: issuer %s is listed twice", i, is.URL)
		}
		if is.IsMeta() {
			return fmt.Errorf("issuers[%d]: %s is a pattern: list it under metaIssuers", i, is.URL)
		}
		seen[is.URL] = true
	}
	for i, is := range c.MetaIssuers {
		if err := is.Validate(); err != nil {
			return fmt.Errorf("metaIssuers[%d]: %w", i, err)
		}
		if !is.IsMeta() {
			return fmt.Errorf("metaIssuers[%d]: %s has no \"*\": list it under issuers", i, is.URL)
		}
		if seen[is.URL] {
			return fmt.Errorf("metaIssuers[%d]: meta issuer %s is listed twice", i, is.URL)
		}
		seen[is.URL] = true
	}
	return nil
}
