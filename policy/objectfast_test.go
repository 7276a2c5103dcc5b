package policy

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// apiServerPodSpec is a pod spec as an API server writes it, defaults
// filled in.
const apiServerPodSpec = `{"volumes":[{"name":"kube-api-access-x","projected":{"sources":[{"serviceAccountToken":{"expirationSeconds":3607,"path":"token"}}],"defaultMode":420}}],` +
	`"initContainers":[{"name":"init","image":"registry.example/init:1","command":["sh","-c","echo \"ready\" \u003e /tmp/x"],"resources":{}}],` +
	`"containers":[{"name":"app","image":"registry.example/team/app:v1","ports":[{"containerPort":8080,"protocol":"TCP"}],` +
	`"env":[{"name":"GREETING","value":"héllo, ☃\t\"world\""}],"resources":{"limits":{"cpu":"500m","memory":"128Mi"}},` +
	`"readinessProbe":{"httpGet":{"path":"/healthz","port":8080,"scheme":"HTTP"},"timeoutSeconds":1,"periodSeconds":10,"successThreshold":1,"failureThreshold":3},` +
	`"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"},` +
	`{"name":"sidecar","image":"registry.example/team/sidecar@sha256:` + "abababababababababababababababababababababababababababababababab" + `","resources":{}}],` +
	`"restartPolicy":"Always","terminationGracePeriodSeconds":30,"dnsPolicy":"ClusterFirst","serviceAccountName":"builder","serviceAccount":"builder",` +
	`"securityContext":{"runAsUser":1000},"imagePullSecrets":[{"name":"regcred"},{"name":"other"}],"schedulerName":"default-scheduler",` +
	`"tolerations":[{"key":"node.kubernetes.io/not-ready","operator":"Exists","effect":"NoExecute","tolerationSeconds":300}],"priority":0,` +
	`"enableServiceLinks":true,"preemptionPolicy":"PreemptLowerPriority"}`

// apiServerMetadata is an object's metadata as an API server writes it.
const apiServerMetadata = `{"name":"web","generateName":"web-","namespace":"checked","uid":"0b6cbd0f-7a53-4c2c-9c3e-4f7a1e0e3d9a","resourceVersion":"12345",` +
	`"generation":3,"creationTimestamp":"2024-12-02T00:00:00Z","labels":{"app":"web","pod-template-hash":"5d8f"},` +
	`"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}\n"},` +
	`"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"web-5d8f","uid":"1","controller":true,"blockOwnerDeletion":true}],` +
	`"managedFields":[{"manager":"kube-controller-manager","operation":"Update","apiVersion":"v1","time":"2024-12-02T00:00:00Z","fieldsType":"FieldsV1",` +
	`"fieldsV1":{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"app\"}":{".":{}}}}}}]}`

// apiServerObjects returns an object of each kind, as an API server
// writes it, and some that DecodeObject must read alike in other forms.
func apiServerObjects() (kinds []*objectKind, raws []string) {
	for i := range objectKinds {
		k := &objectKinds[i]
		// The pod spec wrapped in the levels of k's path, inside out.
		v := apiServerPodSpec
		for j := len(k.podSpec) - 1; j >= 1; j-- {
			v = `{"` + k.podSpec[j] + `":` + v + `,"other":{"` + k.podSpec[j] + `":5}}`
		}
		raws = append(raws, `{"kind":"`+k.kind+`","apiVersion":"`+apiVersionOf(k.group, k.version)+`","metadata":`+apiServerMetadata+
			`,"spec":`+v+`,"status":{"phase":"Pending","qosClass":"Burstable","conditions":[{"type":"PodScheduled","status":"True","lastProbeTime":null}]}}`)
		kinds = append(kinds, k)
	}
	pod, deploy := &objectKinds[0], &objectKinds[2]
	for _, raw := range []string{
		`{}`, `{"metadata":null,"spec":null}`, `{"metadata":{},"spec":{}}`,
		`{"metadata":{"labels":{}},"spec":{"containers":[]}}`,
		`{"metadata":{"deletionTimestamp":"2024-01-01T00:00:00Z","deletionGracePeriodSeconds":30}}`,
		` { "spec" : { "containers" : [ { "image" : "x" } , { } ] } } `,
		`{"Spec":{"containers":[{"image":"x"}]},"spec":{"containers":[{"image":"y"}]}}`,
	} {
		kinds, raws = append(kinds, pod), append(raws, raw)
	}
	for _, raw := range []string{
		`{"spec":{"replicas":1}}`, `{"spec":{"template":null}}`, `{"spec":{"template":{"spec":null}}}`,
		`{"spec":{"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"image":"x"}]}}}}`,
	} {
		kinds, raws = append(kinds, deploy), append(raws, raw)
	}
	return kinds, raws
}

// FuzzDecodeObjectFast checks the fast object decoder against
// decodeObject: whatever it accepts, decodeObject decodes to an equal
// Object. Objects as API servers write them must take the fast path.
func FuzzDecodeObjectFast(f *testing.F) {
	kinds, raws := apiServerObjects()
	for i, raw := range raws {
		got, ok := decodeObjectFast(kinds[i], []byte(raw))
		if !ok {
			f.Fatalf("fast path rejects a %s:\n%s", kinds[i].kind, raw)
		}
		want, err := decodeObject(kinds[i], []byte(raw))
		if err != nil {
			f.Fatal(err)
		}
		if !reflect.DeepEqual(want, got) {
			f.Fatalf("fast path decodes\n%s\nwrong (-want +got):\n%s", raw, cmp.Diff(want, got))
		}
		f.Add(kindIndex(kinds[i]), []byte(raw))
	}
	const pod, deploy, cronjob = 0, 2, 7
	for _, tt := range []struct {
		kind uint8
		raw  string
	}{
		// Not objects, trailing data, broken syntax.
		{pod, ``}, {pod, `null`}, {pod, `[]`}, {pod, `"x"`}, {pod, `{}x`}, {pod, `{}{}`}, {pod, `{`}, {pod, `{"spec":}`},
		{pod, `{"spec":{"containers":[{"image":"x"},]}}`}, {pod, `{"a":1,}`}, {pod, "\ufeff{}"},
		// Repeated keys, among those read and not.
		{pod, `{"metadata":{},"metadata":{}}`}, {pod, `{"spec":{},"spec":null}`}, {pod, `{"other":1,"other":2}`},
		{pod, `{"metadata":{"name":"a","name":"b"}}`}, {pod, `{"metadata":{"labels":{"a":"1"},"labels":{"b":"2"}}}`},
		{pod, `{"metadata":{"labels":{"a":"1","a":"2"}}}`}, {pod, `{"spec":{"containers":[],"containers":[{"image":"x"}]}}`},
		{pod, `{"spec":{"containers":[{"image":"x","image":"y"}]}}`}, {pod, `{"spec":{"containers":[{"name":"a","name":"b"}]}}`},
		{deploy, `{"spec":{"template":{},"template":{"spec":{"containers":[{"image":"x"}]}}}}`},
		{deploy, `{"spec":{"template":{"spec":null,"spec":{"containers":[{"image":"x"}]}}}}`},
		{pod, `{"metadata":{"name":"a","labels":{"a":"b"}},"metadata":{}}`}, {pod, `{"spec":{"containers":[{"image":"x"}]},"spec":{}}`},
		{deploy, `{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}},"template":{}}}`},
		{deploy, `{"spec":{"template":{"spec":{"containers":[{"image":"x"}]},"spec":null}}}`},
		{cronjob, `{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}},"spec":null}}}`},
		{pod, `{"metadata":{"labels":{"a":"1","a":"2"},"name":"n","name":"m"}}`},
		// Keys encoding/json matches case-insensitively; the object's own
		// levels are maps, whose keys it matches exactly.
		{pod, `{"metadata":{"Name":"a"}}`}, {pod, `{"metadata":{"LABELS":{"a":"b"}}}`}, {pod, `{"metadata":{"deletiontimestamp":"x"}}`},
		{pod, `{"spec":{"Containers":[{"image":"x"}]}}`}, {pod, `{"spec":{"containers":[{"Image":"x"}]}}`},
		{pod, `{"spec":{"imagepullsecrets":[{"NAME":"s"}]}}`}, {pod, `{"spec":{"serviceAccountNAME":"sa"}}`},
		{pod, `{"spec":{"containers":[{"ımage":"x"}]}}`}, {pod, `{"spec":{"ſerviceAccountName":"sa"}}`}, {pod, `{"metadata":{"\u212aey":"x"}}`},
		{pod, `{"Metadata":{"name":"a"},"SPEC":{"containers":[{"image":"x"}]}}`}, {deploy, `{"spec":{"Template":{"spec":{"containers":[{"image":"x"}]}}}}`},
		// Nulls and wrong types.
		{pod, `{"metadata":{"name":null,"namespace":null,"labels":null,"deletionTimestamp":null}}`},
		{pod, `{"metadata":{"labels":{"a":null}}}`}, {pod, `{"metadata":{"labels":{"a":1}}}`}, {pod, `{"metadata":{"labels":[]}}`},
		{pod, `{"metadata":{"deletionTimestamp":0}}`}, {pod, `{"metadata":{"deletionTimestamp":{}}}`}, {pod, `{"metadata":"x"}`},
		{pod, `{"metadata":{"name":1}}`}, {pod, `{"spec":5}`}, {pod, `{"spec":[]}`}, {pod, `{"spec":{"containers":null}}`},
		{pod, `{"spec":{"containers":[null]}}`}, {pod, `{"spec":{"containers":[{"image":null}]}}`}, {pod, `{"spec":{"containers":[{"image":1}]}}`},
		{pod, `{"spec":{"containers":{"image":"x"}}}`}, {pod, `{"spec":{"imagePullSecrets":[null]}}`}, {pod, `{"spec":{"imagePullSecrets":[{"name":null}]}}`},
		{pod, `{"spec":{"serviceAccountName":null,"imagePullSecrets":null,"initContainers":null,"ephemeralContainers":null}}`},
		{deploy, `{"spec":{"template":[1]}}`}, {deploy, `{"spec":{"template":"x"}}`}, {deploy, `{"spec":"x"}`}, {deploy, `{"spec":{"template":{"spec":"x"}}}`},
		{cronjob, `{"spec":{"jobTemplate":{"spec":{"template":null}}}}`}, {cronjob, `{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"image":"x"}]}}}}}}`},
		// Escapes, non-ASCII, invalid UTF-8, surrogates.
		{pod, `{"spec":{"containers":[{"image":"\u0078\/y"}]}}`}, {pod, `{"sp\u0065c":{"containers":[{"image":"x"}]}}`},
		{pod, `{"spec":{"containers":[{"im\u0061ge":"x"}]}}`}, {pod, `{"spec":{"containers":[{"image":"\ud83d\ude00"}]}}`},
		{pod, "{\"spec\":{\"containers\":[{\"image\":\"\xff\"}]}}"}, {pod, "{\"metadata\":{\"labels\":{\"\xff\":\"x\"}}}"},
		{pod, `{"metadata":{"annotations":{"a":"\ud800"}}}`}, {pod, "{\"spec\":{\"containers\":[{\"image\":\"\x01\"}]}}"},
		// Numbers, and nesting.
		{pod, `{"spec":{"n":[0,-0,1.5e300,1E-3,123456789012345678901234567890]}}`}, {pod, `{"spec":{"n":01}}`}, {pod, `{"spec":{"n":1.}}`},
		{pod, `{"status":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}`},
		{pod, `{"status":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`},
		{pod, `{"status":` + strings.Repeat(`{"a":`, 10001) + "1" + strings.Repeat("}", 10001) + `}`},
		// Control characters, bad escapes and surrogates in skipped values.
		{pod, "{\"status\":\"\x01\"}"}, {pod, "{\"metadata\":{\"uid\":\"\t\"}}"}, {pod, `{"status":"\q"}`}, {pod, `{"status":"\ud83d\ude00"}`},
		{pod, `{"status":"\uZZZZ"}`}, {pod, `{"status":"\u"}`}, {pod, "{\"status\":\"\xff\"}"},
	} {
		f.Add(tt.kind, []byte(tt.raw))
	}

	f.Fuzz(func(t *testing.T, kind uint8, raw []byte) {
		k := &objectKinds[int(kind)%len(objectKinds)]
		got, ok := decodeObjectFast(k, raw)
		if !ok {
			if got != nil {
				t.Fatalf("fast path returns %v with ok=false", got)
			}
			return
		}
		want, err := decodeObject(k, raw)
		if err != nil {
			t.Fatalf("fast path accepts a %s %q, which decodeObject rejects: %v", k.kind, raw, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("fast path and decodeObject disagree on a %s %q (-json +fast):\n%s", k.kind, raw, cmp.Diff(want, got))
		}
	})
}

func kindIndex(k *objectKind) uint8 {
	for i := range objectKinds {
		if &objectKinds[i] == k {
			return uint8(i)
		}
	}
	panic("unknown kind")
}
