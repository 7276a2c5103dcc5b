package tlog

import (
	"fmt"

	rekorv1 "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// EncodeTransparencyLogEntry returns the JSON body of a create-entry
// response, as rekor-tiles writes it (protojson, unpopulated fields emitted).
func EncodeTransparencyLogEntry(tle *rekorv1.TransparencyLogEntry) ([]byte, error) {
	js, err := protojson.MarshalOptions{EmitUnpopulated: true}.Marshal(tle)
	if err != nil {
		return nil, fmt.Errorf("encode transparency log entry: %w", err)
	}
	return js, nil
}
