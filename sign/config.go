package sign

import (
	"fmt"
	"net/http"
	"time"

	"github.com/signetproject/signet/trustroot"
)

// Services are the signing services a signing config selects.
type Services struct {
	CA      CertificateAuthority // nil when the config lists no CA
	OIDCURL string               // "" when the config lists no OIDC provider
	Logs    []TransparencyLog
	TSAs    []Timestamper
}

// ServicesFrom picks the services a client should use at now, as the
// signing config's selectors say: Fulcio API v1 CAs, Rekor v2 logs and RFC
// 3161 TSAs. client may be nil.
func ServicesFrom(sc *trustroot.SigningConfig, now time.Time, client *http.Client) (*Services, error) {
	return SelectServices(sc, now, client, 2)
}

// SelectServices is ServicesFrom with Rekor logs of rekorVersion: 2, or 1
// for the legacy Rekor v1 API.
func SelectServices(sc *trustroot.SigningConfig, now time.Time, client *http.Client, rekorVersion uint32) (*Services, error) {
	if rekorVersion != 1 && rekorVersion != 2 {
		return nil, fmt.Errorf("rekor API version %d: want 1 or 2", rekorVersion)
	}
	s := &Services{}
	if cas, err := trustroot.Select(sc.CAs, []uint32{1}, "ANY", 0, now); err == nil {
		s.CA = &Fulcio{BaseURL: cas[0].URL, Client: client}
	}
	if oidc, err := trustroot.Select(sc.OIDCProviders, []uint32{1}, "ANY", 0, now); err == nil {
		s.OIDCURL = oidc[0].URL
	}
	if len(sc.Tlogs) > 0 {
		logs, err := trustroot.Select(sc.Tlogs, []uint32{rekorVersion}, sc.TlogSelector, sc.TlogCount, now)
		if err != nil {
			return nil, fmt.Errorf("signing config transparency logs with API v%d: %w", rekorVersion, err)
		}
		for _, l := range logs {
			if rekorVersion == 1 {
				s.Logs = append(s.Logs, &RekorV1{BaseURL: l.URL, Client: client})
			} else {
				s.Logs = append(s.Logs, &RekorV2{BaseURL: l.URL, Client: client})
			}
		}
	}
	if len(sc.TSAs) > 0 {
		tsas, err := trustroot.Select(sc.TSAs, []uint32{1}, sc.TSASelector, sc.TSACount, now)
		if err != nil {
			return nil, fmt.Errorf("signing config timestamp authorities: %w", err)
		}
		for _, t := range tsas {
			s.TSAs = append(s.TSAs, &TSA{URL: t.URL, Client: client})
		}
	}
	return s, nil
}
