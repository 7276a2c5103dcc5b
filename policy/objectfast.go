package policy

import (
	"strings"

	"github.com/signetproject/signet/internal/fastjson"
)

// decodeObjectFast decodes an object as decodeObject does, in one pass and
// without reflection, when it is in the JSON subset of fastjson that API
// servers write objects in: the fields DecodeObject reads as values of
// their type or null, everything else skipped. ok is false for anything
// else — a key that encoding/json would match case-insensitively, a
// repeated field or key on the pod spec's path, null in a list or a label, escapes
// fastjson leaves out, trailing data — and the caller then decodes with
// decodeObject, which gives the result or the error. When ok is true,
// decodeObject returns an Object reflect.DeepEqual to o;
// FuzzDecodeObjectFast checks that.
func decodeObjectFast(k *objectKind, raw []byte) (o *Object, ok bool) {
	o = &Object{TypeMeta: TypeMeta{APIVersion: apiVersionOf(k.group, k.version), Kind: k.kind}, PodSpecField: strings.Join(k.podSpec, ".")}
	d := objectDecoder{Decoder: fastjson.NewDecoder(raw), o: o}
	// encoding/json leaves a struct field alone for null, or sets it nil;
	// the map levels (the object, a template) are read as DecodeObject
	// does, where null is absent.
	d.SkipNull = true
	var seenMeta, seenSpec bool
	ok = d.Members(func(key []byte) bool {
		switch string(key) {
		case "metadata":
			if seenMeta {
				return false
			}
			seenMeta = true
			if d.Literal("null") {
				return true
			}
			var ok bool
			o.Metadata, ok = d.Capture(d.metadata)
			return ok
		case "spec": // the first level of every kind's pod spec path
			if seenSpec {
				return false
			}
			seenSpec = true
			if d.Literal("null") {
				return true
			}
			var ok bool
			o.Spec, ok = d.Capture(func() bool { return d.level(k.podSpec[1:]) })
			return ok
		}
		_, ok := d.Skip()
		return ok
	})
	if !ok || !d.End() {
		return nil, false
	}
	res, err := ResourceForKind(o.TypeMeta.APIVersion, k.kind, d.labels)
	if err != nil {
		return nil, false
	}
	o.Resource = res
	if d.podSpec != nil {
		o.setPodSpec(k.podSpec, d.podSpec)
	}
	return o, true
}

// objectDecoder reads an object's fields into o. Each method consumes one
// value and reports whether it was in the subset.
type objectDecoder struct {
	*fastjson.Decoder
	o       *Object
	labels  map[string]string
	podSpec *podSpecFields // nil until the pod spec is read
}

func (d *objectDecoder) metadata() bool {
	return d.Struct([]string{"name", "namespace", "labels", "deletionTimestamp"}, func(field int) (ok bool) {
		switch field {
		case 0:
			d.o.Name, ok = d.String()
		case 1:
			d.o.Namespace, ok = d.String()
		case 2:
			// encoding/json makes the map for {} too, and a repeated
			// key's last value wins, as here; a null value is outside
			// the subset.
			d.labels = map[string]string{}
			ok = d.Members(func(key []byte) bool {
				v, ok := d.String()
				d.labels[string(key)] = v
				return ok
			})
		case 3:
			_, ok = d.Skip() // any value but null
			d.o.Deleting = true
		}
		return ok
	})
}

// level consumes the value at path below the current level of the pod
// spec path: the pod spec itself when path is empty, otherwise an object
// whose member path[0] leads on.
func (d *objectDecoder) level(path []string) bool {
	if len(path) == 0 {
		var ok bool
		d.o.PodSpec, ok = d.Capture(d.podSpecFields)
		return ok
	}
	seen := false
	return d.Members(func(key []byte) bool {
		if string(key) != path[0] {
			_, ok := d.Skip()
			return ok
		}
		if seen {
			return false
		}
		seen = true
		if d.Literal("null") {
			return true
		}
		return d.level(path[1:])
	})
}

func (d *objectDecoder) podSpecFields() bool {
	ps := &podSpecFields{}
	d.podSpec = ps
	return d.Struct([]string{"containers", "initContainers", "ephemeralContainers", "serviceAccountName", "imagePullSecrets"}, func(field int) (ok bool) {
		switch field {
		case 0:
			ps.Containers, ok = d.containers()
		case 1:
			ps.InitContainers, ok = d.containers()
		case 2:
			ps.EphemeralContainers, ok = d.containers()
		case 3:
			ps.ServiceAccountName, ok = d.String()
		case 4:
			ok = d.Array(func() bool {
				var name string
				ok := d.Struct([]string{"name"}, func(int) (ok bool) {
					name, ok = d.String()
					return ok
				})
				ps.ImagePullSecrets = append(ps.ImagePullSecrets, struct {
					Name string `json:"name"`
				}{name})
				return ok
			})
		}
		return ok
	})
}

// containers consumes a list of containers, reading their images. A null
// container is outside the subset.
func (d *objectDecoder) containers() ([]containerFields, bool) {
	var cs []containerFields
	ok := d.Array(func() bool {
		var c containerFields
		ok := d.Struct([]string{"image"}, func(int) (ok bool) {
			c.Image, ok = d.String()
			return ok
		})
		cs = append(cs, c)
		return ok
	})
	return cs, ok
}
