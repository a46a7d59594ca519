package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// FuzzDecodeProject feeds random bodies to what POST /api/v1/projects does
// before it calls the Kubernetes API: decodeBody (strict JSON, one value,
// bounded size), the Project built from the body's name, labels,
// annotations and spec, and its validation. It must not panic; a body is
// refused with a one-line message, or gives a Project that is invalid with
// field errors, or a valid Project that encodes to JSON and decodes back to
// the same Project, still valid.
//
//	go test ./internal/api -run '^$' -fuzz FuzzDecodeProject -fuzztime 30s
func FuzzDecodeProject(f *testing.F) {
	for _, seed := range []string{
		`{"metadata":{"name":"alpha"},"spec":{"displayName":"Alpha","members":[{"kind":"User","name":"alice","role":"admin"}],"quota":{"pods":"10","requests.cpu":4}}}`,
		`{"metadata":{"name":"beta","labels":{"team":"a"},"annotations":{}},"spec":{"members":[{"kind":"ServiceAccount","name":"ci","namespace":"tools","role":"edit"}]}}`,
		`{"metadata":{"name":"gamma"},"spec":{"quota":{"limits.memory":"4Gi","requests.storage":"500m"}}}`,
		`{"metadata":{"name":"Not-A-Label"},"spec":{"members":[{"kind":"Robot","name":"","role":"owner"}],"quota":{"bad key!":"x","cpu":"-1"}}}`,
		`{"metadata":{"name":"dup"},"spec":{"members":[{"kind":"Group","name":"g","role":"view"},{"kind":"Group","name":"g","role":"edit"}]}}`,
		`{"metadata":{"name":"delta"},"spec":{"quota":{"pods":1e3}}}`,
		`{"metadata":{"name":"x"},"spec":{},"status":{"phase":"Ready"}} {"second":"value"}`,
		`{"metadata":{"name":"x"},"unknown":true}`,
		`{"spec":{"members":"not a list"}}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeProject(body)
		if err != nil {
			if msg := err.Error(); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("body %q: refused without a one-line message: %q", body, msg)
			}
			return
		}
		// What createProject keeps of the body.
		p := &primusv1.Project{
			ObjectMeta: metav1.ObjectMeta{Name: in.Name, Labels: in.Labels, Annotations: in.Annotations},
			Spec:       in.Spec,
		}
		if err := p.Validate(); err != nil {
			var errs primusv1.ValidationErrors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("body %q: invalid without field errors: %T %v", body, err, err)
			}
			return
		}

		raw, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("body %q: valid project %+v does not encode: %v", body, p, err)
		}
		back, err := decodeProject(raw)
		if err != nil {
			t.Fatalf("body %q: valid project re-encoded as %s does not decode: %v", body, raw, err)
		}
		if !apiequality.Semantic.DeepEqual(p, back) {
			t.Fatalf("body %q: valid project changed through JSON:\nbefore %+v\nafter  %+v\njson   %s", body, p, back, raw)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("body %q: valid project invalid after a round trip through %s: %v", body, raw, err)
		}
	})
}

// decodeProject decodes body as the API decodes a request's.
func decodeProject(body []byte) (*primusv1.Project, error) {
	r := httptest.NewRequest(http.MethodPost, projectsPath, bytes.NewReader(body))
	var p primusv1.Project
	if err := decodeBody(httptest.NewRecorder(), r, &p); err != nil {
		return nil, err
	}
	return &p, nil
}
