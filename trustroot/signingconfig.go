package trustroot

import (
	"errors"
	"fmt"
	"os"
	"time"

	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// SigningConfig is a parsed signing_config.json.
type SigningConfig struct {
	CAs, OIDCProviders, Tlogs, TSAs []Service
	// TlogSelector and TSASelector say how many logs / TSAs a client uses:
	// "ALL", "ANY" or "EXACT" (with the counts below).
	TlogSelector, TSASelector string
	TlogCount, TSACount       uint32
}

// LoadSigningConfig parses a v0.2 signing_config.json.
func LoadSigningConfig(data []byte) (*SigningConfig, error) {
	var pb prototrustroot.SigningConfig
	if err := protojson.Unmarshal(data, &pb); err != nil {
		return nil, fmt.Errorf("signing config: %w", err)
	}
	if pb.GetMediaType() != MediaTypeSigningConfig {
		return nil, fmt.Errorf("signing config: media type %q, want %q", pb.GetMediaType(), MediaTypeSigningConfig)
	}
	sc := &SigningConfig{
		CAs:           loadServices(pb.GetCaUrls()),
		OIDCProviders: loadServices(pb.GetOidcUrls()),
		Tlogs:         loadServices(pb.GetRekorTlogUrls()),
		TSAs:          loadServices(pb.GetTsaUrls()),
		TlogSelector:  pb.GetRekorTlogConfig().GetSelector().String(),
		TlogCount:     pb.GetRekorTlogConfig().GetCount(),
		TSASelector:   pb.GetTsaConfig().GetSelector().String(),
		TSACount:      pb.GetTsaConfig().GetCount(),
	}
	return sc, nil
}

// LoadSigningConfigFile reads and parses a signing_config.json file.
func LoadSigningConfigFile(path string) (*SigningConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return LoadSigningConfig(data)
}

func loadServices(in []*prototrustroot.Service) []Service {
	var out []Service
	for _, s := range in {
		svc := Service{URL: s.GetUrl(), MajorAPIVersion: s.GetMajorApiVersion(), Operator: s.GetOperator()}
		if vf := s.GetValidFor(); vf != nil {
			svc.Start = vf.GetStart().AsTime()
			if vf.End != nil {
				svc.End = vf.GetEnd().AsTime()
			}
		}
		out = append(out, svc)
	}
	return out
}

// Select returns the services valid at now whose major API version is one
// of versions, preferring the highest version, as many as selector asks
// ("ALL": all of them; "ANY" or unspecified: one; "EXACT": count).
func Select(services []Service, versions []uint32, selector string, count uint32, now time.Time) ([]Service, error) {
	var best []Service
	var bestVersion uint32
	for _, s := range services {
		if !s.validAt(now) || !contains(versions, s.MajorAPIVersion) {
			continue
		}
		switch {
		case s.MajorAPIVersion > bestVersion:
			best, bestVersion = []Service{s}, s.MajorAPIVersion
		case s.MajorAPIVersion == bestVersion:
			best = append(best, s)
		}
	}
	if len(best) == 0 {
		return nil, errors.New("no service with a supported API version is valid now")
	}
	switch selector {
	case "ALL":
		return best, nil
	case "EXACT":
		if uint32(len(best)) < count {
			return nil, fmt.Errorf("signing config asks for %d services, only %d usable", count, len(best))
		}
		return best[:count], nil
	default:
		return best[:1], nil
	}
}

func (s Service) validAt(t time.Time) bool {
	return !t.Before(s.Start) && (s.End.IsZero() || t.Before(s.End))
}

func contains(list []uint32, v uint32) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
