//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/primus-dev/primus/internal/hacheck/podnet"
	"github.com/primus-dev/primus/internal/testharness/syncbuf"
)

// The README quick start's values and Project manifest.
var (
	quickStartValues  = filepath.Join("..", "..", "docs", "quickstart", "values.yaml")
	quickStartProject = filepath.Join("..", "..", "docs", "quickstart", "project.yaml")
)

// TestQuickStartKubectlGetProjects runs the README's quick start as a user
// does, with the built hacheck and the kubectl it prints: verify --serve
// with the management API, then kubectl apply, wait, get (table and JSON)
// and delete on the aggregated projects resource, as the admin and as
// members who each see only their projects with their role, then Ctrl-C,
// after which hacheck exits 0 and the cluster is gone.
func TestQuickStartKubectlGetProjects(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the embedded cluster; skipped with -short")
	}
	require.NoError(t, podnet.Available(), "the quick start needs Pods with addresses (root, or CAP_NET_ADMIN and CAP_SYS_ADMIN)")
	dir := t.TempDir()
	bin := filepath.Join(dir, "hacheck")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build ./tools/hacheck: %s", out)

	stdout, stderr := &syncbuf.Buffer{}, &syncbuf.Buffer{}
	serve := exec.Command(bin, "verify", chart, "-f", quickStartValues, "--serve")
	serve.Stdout, serve.Stderr = stdout, stderr
	require.NoError(t, serve.Start())
	exited := make(chan error, 1)
	go func() { exited <- serve.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if stopped {
			return
		}
		_ = serve.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(3 * time.Minute):
			_ = serve.Process.Kill()
			<-exited
			// hacheck printed how to stop what it leaves behind.
			if m := regexp.MustCompile(`(?m)^  (KWOK_WORKDIR=.*)$`).FindStringSubmatch(stdout.String()); m != nil {
				out, err := exec.Command("sh", "-c", m[1]).CombinedOutput()
				t.Logf("stop the cluster hacheck left: %v\n%s", err, out)
			}
		}
		if t.Failed() {
			t.Logf("hacheck stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})

	// The first run may build the cluster's binaries and cmd/primus.
	deadline := time.Now().Add(20 * time.Minute)
	for !strings.Contains(stdout.String(), "serving until Ctrl-C") {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("hacheck exited before serving (%v)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
		case <-time.After(time.Second):
		}
		require.True(t, time.Now().Before(deadline), "hacheck did not serve within 20 minutes")
	}
	assert.Regexp(t, `(?m)^all \d+ live checks hold$`, stdout.String())
	assert.Regexp(t, `(?m)^  KWOK_WORKDIR=\S+ \S+kwokctl .* delete cluster`, stdout.String(), "how to stop the cluster if hacheck is killed")
	assert.NotContains(t, stdout.String(), "no Pod network")
	kubeconfig := regexp.MustCompile(`(?m)^  export KUBECONFIG=(\S+)$`).FindStringSubmatch(stdout.String())
	require.Len(t, kubeconfig, 2, "the kubeconfig to export")
	path := regexp.MustCompile(`(?m)^  export PATH=(\S+):\$PATH`).FindStringSubmatch(stdout.String())
	require.Len(t, path, 2, "the binaries to put on PATH")
	kubectl := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(path[1], "kubectl"), args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig[1], "HOME="+dir)
		out, err := cmd.Output()
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, exitErr.Stderr)
		}
		require.NoError(t, err, "kubectl %s", strings.Join(args, " "))
		return string(out)
	}

	assert.Contains(t, kubectl("apply", "-f", quickStartProject), "project.management.primus.dev/team-a created")
	kubectl("wait", "--for=jsonpath={.status.phase}=Ready", "projects.management.primus.dev/team-a", "--timeout=90s")
	// The same file, applied server-side: the values are those the
	// client-side apply set, so kubectl's field manager takes them over
	// without a conflict, and the view records it.
	assert.Contains(t, kubectl("apply", "--server-side", "-f", quickStartProject), "project.management.primus.dev/team-a serverside-applied")
	type manager struct {
		Manager   string `json:"manager"`
		Operation string `json:"operation"`
	}
	var applied struct {
		Metadata struct {
			ManagedFields []manager `json:"managedFields"`
		} `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal([]byte(kubectl("get", "project", "team-a", "--show-managed-fields", "-o", "json")), &applied))
	assert.Contains(t, applied.Metadata.ManagedFields, manager{Manager: "kubectl", Operation: "Apply"}, "kubectl's apply is a field manager of the Project")

	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				DisplayName string `json:"displayName"`
				Members     []struct {
					Name string `json:"name"`
					Role string `json:"role"`
				} `json:"members"`
			} `json:"spec"`
			Status struct {
				Phase     string `json:"phase"`
				Namespace string `json:"namespace"`
			} `json:"status"`
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(kubectl("get", "projects", "-o", "json")), &list))
	assert.Equal(t, "List", list.Kind)
	require.Len(t, list.Items, 1)
	p := list.Items[0]
	assert.Equal(t, "team-a", p.Metadata.Name)
	assert.Equal(t, "Team A", p.Spec.DisplayName)
	assert.Len(t, p.Spec.Members, 2)
	assert.Equal(t, "Ready", p.Status.Phase)
	require.NotEmpty(t, p.Status.Namespace, "the leader made the project's namespace")
	assert.Contains(t, kubectl("get", "namespace", p.Status.Namespace, "-o", "name"), "namespace/"+p.Status.Namespace)

	// kubectl's table comes from the server's column definitions.
	table := strings.Split(strings.TrimSpace(kubectl("get", "projects")), "\n")
	require.Len(t, table, 2, "a header and team-a: %q", table)
	assert.Equal(t, []string{"NAME", "ROLE", "PHASE", "AGE"}, strings.Fields(table[0]))
	assert.Equal(t, []string{"team-a", "<none>", "Ready"}, strings.Fields(table[1])[:3])

	// Members see their projects with their role; others see none.
	for _, tc := range []struct{ user, row string }{
		{user: "alice", row: "team-a admin Ready"},
		{user: "bob", row: "team-a view Ready"},
		{user: "carol", row: ""},
	} {
		rows := strings.Split(strings.TrimSpace(kubectl("get", "projects", "--as", tc.user, "--no-headers")), "\n")
		require.Len(t, rows, 1, "%s: %q", tc.user, rows)
		got := strings.Join(strings.Fields(rows[0]), " ")
		if tc.row == "" {
			assert.Equal(t, "", got, "%s is no member", tc.user)
			continue
		}
		assert.True(t, strings.HasPrefix(got, tc.row), "%s sees %q, want %q", tc.user, got, tc.row)
	}

	assert.Contains(t, kubectl("delete", "-f", quickStartProject, "--wait=true", "--timeout=90s"), `project.management.primus.dev "team-a" deleted`)
	assert.Equal(t, "", strings.TrimSpace(kubectl("get", "projects", "-o", "name")))

	// Ctrl-C: the replicas and the cluster stop, and hacheck exits 0.
	require.NoError(t, serve.Process.Signal(syscall.SIGINT))
	select {
	case err := <-exited:
		stopped = true
		require.NoError(t, err, "stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	case <-time.After(3 * time.Minute):
		t.Fatal("hacheck still runs 3 minutes after Ctrl-C")
	}
	assert.Contains(t, stderr.String(), "stopping the embedded cluster")
	_, err = os.Stat(kubeconfig[1])
	assert.True(t, errors.Is(err, os.ErrNotExist), "the cluster's work directory is removed: %v", err)
}
