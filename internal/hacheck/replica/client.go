package replica

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	mgmtv1 "github.com/primus-dev/primus/internal/platform/apis/management/v1alpha1"
	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
)

// Ready reports whether /readyz answers 200. The first 200 makes the
// replica live (see Live).
func (r *Replica) Ready(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.Health+"/readyz", nil)
	if err != nil {
		return false
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	r.served.Store(true)
	return true
}

// Call sends an API request with a bearer token (none when empty) and a
// JSON body (none when nil), and returns the status code and the body.
func (r *Replica) Call(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.API+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

// Get sends a GET with the replica's HTTP client (self-signed
// certificates accepted) to url, which may be any of its listeners.
func (r *Replica) Get(ctx context.Context, url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return r.http.Do(req)
}

// ProjectsPath is the API's collection of Projects: the Kubernetes API
// server every replica serves, management.primus.dev/v1alpha1.
var ProjectsPath = "/apis/" + mgmtv1.SchemeGroupVersion.String() + "/" + mgmtv1.Resource

// ListProjects lists, through the replica's API, the Projects token's
// user may see (GET ProjectsPath), and returns an error unless the answer
// is 200 OK with a ProjectList.
func (r *Replica) ListProjects(ctx context.Context, token string) (*mgmtv1.ProjectList, error) {
	code, raw, err := r.Call(ctx, http.MethodGet, ProjectsPath, token, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: list projects: %w", r.Name, err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("%s: list projects: %d %s", r.Name, code, bytes.TrimSpace(raw))
	}
	var list mgmtv1.ProjectList
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("%s: list projects: %w", r.Name, err)
	}
	if list.Kind != "ProjectList" {
		return nil, fmt.Errorf("%s: list projects: answered kind %q, not ProjectList", r.Name, list.Kind)
	}
	return &list, nil
}

// ServesAPI reports, as an error, whether the replica's API answers an
// authenticated list of Projects.
func (r *Replica) ServesAPI(ctx context.Context, token string) error {
	_, err := r.ListProjects(ctx, token)
	return err
}

// LeaderGauge scrapes primus_leader from the replica's /metrics.
func (r *Replica) LeaderGauge(ctx context.Context) (float64, error) {
	resp, err := r.Get(ctx, r.Metrics+"/metrics")
	if err != nil {
		return 0, fmt.Errorf("%s: scrape: %w", r.Name, err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("%s: scrape: %w", r.Name, err)
	}
	f, ok := families["primus_leader"]
	if !ok || len(f.GetMetric()) == 0 {
		return 0, fmt.Errorf("%s: no primus_leader metric", r.Name)
	}
	return f.GetMetric()[0].GetGauge().GetValue(), nil
}

// CreateProject creates p through the API (POST ProjectsPath) and returns
// an error unless the answer is 201 Created.
func (r *Replica) CreateProject(ctx context.Context, token string, p *primusv1.Project) error {
	code, raw, err := r.Call(ctx, http.MethodPost, ProjectsPath, token, projectBody(p))
	if err != nil {
		return fmt.Errorf("%s: create project %s: %w", r.Name, p.Name, err)
	}
	if code != http.StatusCreated {
		return fmt.Errorf("%s: create project %s: %d %s", r.Name, p.Name, code, bytes.TrimSpace(raw))
	}
	return nil
}

// UpdateProject replaces the spec of Project p.Name with p.Spec through
// the API (PUT ProjectsPath/{name}, with no resourceVersion: the latest
// version is replaced) and returns an error unless the answer is 200 OK.
func (r *Replica) UpdateProject(ctx context.Context, token string, p *primusv1.Project) error {
	code, raw, err := r.Call(ctx, http.MethodPut, ProjectsPath+"/"+p.Name, token, projectBody(p))
	if err != nil {
		return fmt.Errorf("%s: update project %s: %w", r.Name, p.Name, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s: update project %s: %d %s", r.Name, p.Name, code, bytes.TrimSpace(raw))
	}
	return nil
}

// projectBody is p's name and spec as a management.primus.dev Project,
// whose spec has the same fields as primus.dev's.
func projectBody(p *primusv1.Project) map[string]any {
	return map[string]any{
		"apiVersion": mgmtv1.SchemeGroupVersion.String(), "kind": "Project",
		"metadata": map[string]any{"name": p.Name}, "spec": p.Spec,
	}
}
