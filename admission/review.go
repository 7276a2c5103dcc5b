package admission

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/signetproject/signet/internal/fastjson"
)

// maxReviewBytes bounds an AdmissionReview body: the API server limits
// objects to 3 MiB, and a review of an update carries two.
const maxReviewBytes = 8 << 20

// DecodeReview reads an AdmissionReview v1 request from an HTTP request.
func DecodeReview(r *http.Request) (*admissionv1.AdmissionReview, error) {
	rev, _, err := decodeReview(r)
	return rev, err
}

// decodeReview is DecodeReview, also saying whether the review was decoded
// by the fast path.
func decodeReview(r *http.Request) (rev *admissionv1.AdmissionReview, fast bool, err error) {
	if r.Method != http.MethodPost {
		return nil, false, fmt.Errorf("admission review: method %s, want POST", r.Method)
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil, false, fmt.Errorf("admission review: content type %q, want application/json", ct)
	}
	body, err := readReviewBody(r, maxReviewBytes+1)
	if err != nil {
		return nil, false, fmt.Errorf("admission review: read body: %w", err)
	}
	if len(body) > maxReviewBytes {
		return nil, false, fmt.Errorf("admission review: body larger than %d bytes", maxReviewBytes)
	}
	return parseReview(body)
}

// readReviewBody reads at most limit bytes of r's body, into a buffer sized
// by its Content-Length up to 64 KiB (a hint only, which a client may lie
// about), growing as io.ReadAll does beyond.
func readReviewBody(r *http.Request, limit int64) ([]byte, error) {
	size := int64(512)
	if r.ContentLength > 0 {
		size = min(r.ContentLength+1, 64<<10, limit)
	}
	body := make([]byte, 0, size)
	lr := io.LimitReader(r.Body, limit)
	for {
		n, err := lr.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if err == io.EOF {
			return body, nil
		}
		if err != nil {
			return nil, err
		}
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
	}
}

// ParseReview decodes an AdmissionReview v1 with a request. It decodes as
// encoding/json does; reviews as API servers write them take a fast path
// (parseReviewFast) that gives the same result.
func ParseReview(body []byte) (*admissionv1.AdmissionReview, error) {
	rev, _, err := parseReview(body)
	return rev, err
}

// parseReview is ParseReview, also saying whether the fast path decoded
// the review.
func parseReview(body []byte) (rev *admissionv1.AdmissionReview, fast bool, err error) {
	rev, fast = parseReviewFast(body)
	if !fast {
		rev = &admissionv1.AdmissionReview{}
		if err := json.Unmarshal(body, rev); err != nil {
			return nil, false, fmt.Errorf("admission review: %w", err)
		}
	}
	if rev.APIVersion != admissionv1.SchemeGroupVersion.String() || rev.Kind != "AdmissionReview" {
		return nil, false, fmt.Errorf("admission review: got %s %s, want %s AdmissionReview", rev.APIVersion, rev.Kind, admissionv1.SchemeGroupVersion)
	}
	if rev.Request == nil {
		return nil, false, errors.New("admission review: no request")
	}
	return rev, fast, nil
}

// parseReviewFast decodes an AdmissionReview without reflection, in the
// JSON subset of fastjson that an API server's reviews are in: every
// field of the request as a value of its type or null, unknown fields
// skipped, objects (object, oldObject, options) kept as written. ok is
// false for anything else — a response, a key that encoding/json would
// match case-insensitively, a repeated field, null in a list, escapes
// fastjson leaves out, trailing data — and the caller then decodes with
// encoding/json, which gives the result or the error. When ok is true,
// encoding/json decodes body to a review reflect.DeepEqual to rev;
// FuzzParseReviewFast checks that.
func parseReviewFast(body []byte) (rev *admissionv1.AdmissionReview, ok bool) {
	d := reviewDecoder{fastjson.NewDecoder(body)}
	d.SkipNull = true // encoding/json leaves a field alone for null, or sets it nil
	rev = &admissionv1.AdmissionReview{}
	ok = d.Struct([]string{"apiVersion", "kind", "request", "response"}, func(field int) (ok bool) {
		switch field {
		case 0:
			rev.APIVersion, ok = d.String()
		case 1:
			rev.Kind, ok = d.String()
		case 2:
			rev.Request, ok = d.request()
		}
		return ok // a response is outside the subset
	})
	if !ok || !d.End() {
		return nil, false
	}
	return rev, true
}

// reviewDecoder reads AdmissionReviews in fastjson's subset. Each method
// consumes one value and reports whether it was in the subset.
type reviewDecoder struct{ *fastjson.Decoder }

// requestFields are the JSON names of AdmissionRequest's fields, all of
// them: a field left out here would be skipped as unknown.
var requestFields = []string{"uid", "kind", "resource", "subResource", "requestKind", "requestResource", "requestSubResource",
	"name", "namespace", "operation", "userInfo", "object", "oldObject", "dryRun", "options"}

func (d reviewDecoder) request() (*admissionv1.AdmissionRequest, bool) {
	req := &admissionv1.AdmissionRequest{}
	ok := d.Struct(requestFields, func(field int) (ok bool) {
		var s string
		switch field {
		case 0:
			s, ok = d.String()
			req.UID = types.UID(s)
		case 1:
			req.Kind, ok = d.gvk()
		case 2:
			req.Resource, ok = d.gvr()
		case 3:
			req.SubResource, ok = d.String()
		case 4:
			var gvk metav1.GroupVersionKind
			gvk, ok = d.gvk()
			req.RequestKind = &gvk
		case 5:
			var gvr metav1.GroupVersionResource
			gvr, ok = d.gvr()
			req.RequestResource = &gvr
		case 6:
			req.RequestSubResource, ok = d.String()
		case 7:
			req.Name, ok = d.String()
		case 8:
			req.Namespace, ok = d.String()
		case 9:
			s, ok = d.String()
			req.Operation = admissionv1.Operation(s)
		case 10:
			req.UserInfo, ok = d.userInfo()
		case 11:
			req.Object.Raw, ok = d.Skip()
		case 12:
			req.OldObject.Raw, ok = d.Skip()
		case 13:
			var b bool
			b, ok = d.bool()
			req.DryRun = &b
		case 14:
			req.Options.Raw, ok = d.Skip()
		}
		return ok
	})
	return req, ok
}

func (d reviewDecoder) bool() (bool, bool) {
	if d.Literal("true") {
		return true, true
	}
	return false, d.Literal("false")
}

func (d reviewDecoder) gvk() (gvk metav1.GroupVersionKind, ok bool) {
	ok = d.Struct([]string{"group", "version", "kind"}, func(field int) (ok bool) {
		switch field {
		case 0:
			gvk.Group, ok = d.String()
		case 1:
			gvk.Version, ok = d.String()
		case 2:
			gvk.Kind, ok = d.String()
		}
		return ok
	})
	return gvk, ok
}

func (d reviewDecoder) gvr() (gvr metav1.GroupVersionResource, ok bool) {
	ok = d.Struct([]string{"group", "version", "resource"}, func(field int) (ok bool) {
		switch field {
		case 0:
			gvr.Group, ok = d.String()
		case 1:
			gvr.Version, ok = d.String()
		case 2:
			gvr.Resource, ok = d.String()
		}
		return ok
	})
	return gvr, ok
}

func (d reviewDecoder) userInfo() (u authenticationv1.UserInfo, ok bool) {
	ok = d.Struct([]string{"username", "uid", "groups", "extra"}, func(field int) (ok bool) {
		switch field {
		case 0:
			u.Username, ok = d.String()
		case 1:
			u.UID, ok = d.String()
		case 2:
			u.Groups, ok = d.strings()
		case 3:
			// encoding/json makes the map for {} too, and a repeated
			// key's last value wins, as here.
			u.Extra = map[string]authenticationv1.ExtraValue{}
			ok = d.Members(func(key []byte) bool {
				v, ok := d.strings()
				u.Extra[string(key)] = v
				return ok
			})
		}
		return ok
	})
	return u, ok
}

// strings consumes an array of strings; like encoding/json, it returns an
// empty slice, not nil, for [].
func (d reviewDecoder) strings() ([]string, bool) {
	list := []string{}
	ok := d.Array(func() bool {
		s, ok := d.String()
		list = append(list, s)
		return ok
	})
	return list, ok
}
