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

	primusv1 "github.com/primus-dev/primus/internal/platform/apis/primus/v1alpha1"
	"github.com/primus-dev/primus/internal/platform/leader"
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

// Leader asks the replica who leads (GET /api/v1/leader).
func (r *Replica) Leader(ctx context.Context, token string) (leader.Status, error) {
	code, raw, err := r.Call(ctx, http.MethodGet, "/api/v1/leader", token, nil)
	if err != nil {
		return leader.Status{}, fmt.Errorf("%s: GET /api/v1/leader: %w", r.Name, err)
	}
	if code != http.StatusOK {
		return leader.Status{}, fmt.Errorf("%s: GET /api/v1/leader: %d %s", r.Name, code, raw)
	}
	var st leader.Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return leader.Status{}, fmt.Errorf("%s: GET /api/v1/leader: %w", r.Name, err)
	}
	return st, nil
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

// CreateProject creates p through the API (POST /api/v1/projects) and
// returns an error unless the answer is 201 Created.
func (r *Replica) CreateProject(ctx context.Context, token string, p *primusv1.Project) error {
	body := map[string]any{"metadata": map[string]any{"name": p.Name}, "spec": p.Spec}
	code, raw, err := r.Call(ctx, http.MethodPost, "/api/v1/projects", token, body)
	if err != nil {
		return fmt.Errorf("%s: create project %s: %w", r.Name, p.Name, err)
	}
	if code != http.StatusCreated {
		return fmt.Errorf("%s: create project %s: %d %s", r.Name, p.Name, code, bytes.TrimSpace(raw))
	}
	return nil
}

// UpdateProject replaces the spec of Project p.Name with p.Spec through
// the API (PUT /api/v1/projects/{name}) and returns an error unless the
// answer is 200 OK.
func (r *Replica) UpdateProject(ctx context.Context, token string, p *primusv1.Project) error {
	body := map[string]any{"metadata": map[string]any{"name": p.Name}, "spec": p.Spec}
	code, raw, err := r.Call(ctx, http.MethodPut, "/api/v1/projects/"+p.Name, token, body)
	if err != nil {
		return fmt.Errorf("%s: update project %s: %w", r.Name, p.Name, err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("%s: update project %s: %d %s", r.Name, p.Name, code, bytes.TrimSpace(raw))
	}
	return nil
}
