package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/primus-dev/primus/internal/hacheck/podnet"
	"github.com/primus-dev/primus/internal/hacheck/portlock"
)

// KubeconfigEnv names the environment variable that makes StartOrConnect
// use an existing cluster instead of starting one.
const KubeconfigEnv = "PRIMUS_TEST_KUBECONFIG"

// Options configures Start. The zero value starts a 3-node, 3-zone cluster.
type Options struct {
	// Name names the cluster (lower-case letters, digits and '-'); it shows
	// in the work directory and the kubeconfig context. Default "primus".
	Name string
	// Nodes is the number of fake nodes. Default 3.
	Nodes int
	// Zones is the number of zones the nodes are spread over, round robin,
	// as topology.kubernetes.io/zone=zone-a, zone-b, … Default 3.
	Zones int
	// Log receives progress lines (building, starting, ready, stopping).
	// Nil discards them.
	Log io.Writer
	// Binaries, when set, are used as they are instead of EnsureBinaries.
	Binaries *Binaries
	// BinaryOptions is passed to EnsureBinaries; its Log defaults to Log.
	BinaryOptions BinaryOptions
	// TempDir is the parent of the cluster's work directory. Default
	// os.TempDir().
	TempDir string
	// ReadyTimeout bounds the wait for the control plane and the nodes after
	// kwokctl returns. Default 2 minutes.
	ReadyTimeout time.Duration
	// Readiness says who makes scheduled Pods Ready: kwok at once (the
	// default) or a podrunner from its processes (ReadyByRunner).
	Readiness Readiness
	// AuditPolicy, when set, is an audit.k8s.io/v1 Policy (YAML): the API
	// server then writes an audit log (JSON lines) at Cluster.AuditLog.
	AuditPolicy []byte
	// APIServerFlags are extra kube-apiserver flags, name (without the
	// leading dashes) to value, e.g. {"max-requests-inflight": "10"}: a test
	// that needs a control plane unlike the default one (small concurrency
	// limits, to saturate API priority and fairness on a small machine) sets
	// them. kwokctl appends them after its own flags, so a flag given twice
	// takes this value. Nil runs kwokctl's defaults.
	APIServerFlags map[string]string
	// PodNetwork gives each Pod a real address: kwok takes Pod IPs from a
	// subnet reserved for this cluster (package podnet), a podrunner given
	// Cluster.PodNetwork runs each Pod's process in a network namespace
	// with that IP, and the kube-apiserver routes to an APIService's
	// endpoints (--enable-aggregator-routing) with front-proxy headers its
	// extension servers can trust (--requestheader-*), so an aggregated API
	// served by the Pods works as on a real cluster. Start refuses, saying
	// why, where this machine does not allow network namespaces.
	PodNetwork bool
}

// validFlagName is a kube-apiserver flag name without its dashes.
var validFlagName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

var validName = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// withDefaults returns o with every zero field defaulted, or an error for
// values that cannot work.
func (o Options) withDefaults() (Options, error) {
	if o.Name == "" {
		o.Name = "primus"
	}
	if !validName.MatchString(o.Name) {
		return o, fmt.Errorf("cluster name %q: want 1-32 lower-case letters, digits or '-'", o.Name)
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.Zones == 0 {
		o.Zones = 3
	}
	if o.Nodes < 0 || o.Zones < 0 || o.Zones > 26 {
		return o, fmt.Errorf("cluster %s: want nodes >= 0 and 1 <= zones <= 26, got %d nodes, %d zones", o.Name, o.Nodes, o.Zones)
	}
	if o.BinaryOptions.Log == nil {
		o.BinaryOptions.Log = o.Log
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	if o.Readiness != ReadyAtOnce && o.Readiness != ReadyByRunner {
		return o, fmt.Errorf("cluster %s: readiness %q: want %q or %q", o.Name, o.Readiness, ReadyAtOnce, ReadyByRunner)
	}
	if o.PodNetwork && o.Nodes > podnet.NodesPerSubnet {
		return o, fmt.Errorf("cluster %s: a pod network has room for %d nodes, not %d", o.Name, podnet.NodesPerSubnet, o.Nodes)
	}
	for name := range o.APIServerFlags {
		if !validFlagName.MatchString(name) {
			return o, fmt.Errorf("cluster %s: kube-apiserver flag %q: want a flag name without dashes, like max-requests-inflight", o.Name, name)
		}
	}
	return o, nil
}

// Cluster is a running Kubernetes cluster: one started by Start, or an
// existing one opened by FromKubeconfig. Its methods are safe for concurrent
// use.
type Cluster struct {
	name       string
	describe   string // for an opened cluster: its context, server and kubeconfig
	kubeconfig string
	restConfig *rest.Config
	clientset  *kubernetes.Clientset
	log        *slog.Logger

	// Set for clusters started by Start only.
	workdir string
	kwokctl kwokctl
	bins    Binaries
	ports   ports
	// portSet holds the reservation of ports until Stop releases it.
	portSet *portlock.Set
	// subnet is the Pod subnet of a PodNetwork cluster, held until Stop.
	subnet *podnet.Subnet
	zones  int

	mu      sync.Mutex
	nodes   []string
	pids    map[string]int
	stopped bool
	// apiServerPaused is set by PauseAPIServer until ResumeAPIServer.
	apiServerPaused bool
}

// Start starts a cluster: it ensures the binaries, has kwokctl run etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and kwok from a
// private temporary directory on local ports reserved for it (see
// reservePorts), waits until /readyz is ok and both controllers hold their
// leader lease, then creates the fake nodes and waits until they are Ready. If anything fails it stops what it
// started and returns the error, with the tail of the component logs.
// The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	log := newLogger(opts.Log).With("cluster", opts.Name)
	start := time.Now()

	var bins Binaries
	if opts.Binaries != nil {
		bins = *opts.Binaries
	} else if bins, err = EnsureBinaries(ctx, opts.BinaryOptions); err != nil {
		return nil, fmt.Errorf("start cluster %s: %w", opts.Name, err)
	}

	workdir, err := os.MkdirTemp(opts.TempDir, "primus-cluster-"+opts.Name+"-")
	if err != nil {
		return nil, fmt.Errorf("start cluster %s: %w", opts.Name, err)
	}
	// Symlinks in TempDir (macOS /var -> /private/var) would hide the work
	// dir from the process check in Stop.
	if resolved, err := filepath.EvalSymlinks(workdir); err == nil {
		workdir = resolved
	}
	c := &Cluster{
		name:    opts.Name,
		log:     log,
		workdir: workdir,
		kwokctl: kwokctl{bin: bins.Kwokctl, name: opts.Name, workdir: workdir, readiness: opts.Readiness, audit: len(opts.AuditPolicy) > 0, apiServerFlags: opts.APIServerFlags},
		bins:    bins,
		zones:   opts.Zones,
	}
	if err := c.start(ctx, opts); err != nil {
		diag := c.diagnostics()
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if stopErr := c.Stop(stopCtx); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("clean up: %w", stopErr))
		}
		// The cause goes last, after the logs' tails, so that the end of a
		// long CI log still says why the cluster did not start.
		return nil, fmt.Errorf("start cluster %s:%s\n--- why cluster %s did not start ---\n%w", opts.Name, diag, opts.Name, err)
	}
	log.Info("cluster ready", "kubeconfig", c.kubeconfig, "apiserver-port", c.ports.APIServer,
		"nodes", len(c.nodes), "elapsed", since(start))
	return c, nil
}

// start does the work of Start on a Cluster whose work dir exists.
func (c *Cluster) start(ctx context.Context, opts Options) error {
	var err error
	if c.ports, c.portSet, err = reservePorts(); err != nil {
		return err
	}
	if opts.PodNetwork {
		if err := c.reservePodNetwork(); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(c.kwokctl.toolsDir(), 0o755); err != nil {
		return fmt.Errorf("write kubectl stand-in: %w", err)
	}
	if err := os.WriteFile(c.kwokctl.kubectlPath(), []byte(kubectlStandIn), 0o755); err != nil {
		return fmt.Errorf("write kubectl stand-in: %w", err)
	}
	if err := os.WriteFile(c.kwokctl.configPath(), []byte(c.kwokctl.configYAML(c.ports)), 0o644); err != nil {
		return fmt.Errorf("write kwokctl config: %w", err)
	}
	if c.kwokctl.audit {
		if err := os.WriteFile(c.kwokctl.auditPolicyPath(), opts.AuditPolicy, 0o644); err != nil {
			return fmt.Errorf("write audit policy: %w", err)
		}
	}

	step := time.Now()
	c.log.Info("starting control plane", "workdir", c.workdir, "apiserver-port", c.ports.APIServer)
	_, runErr := c.kwokctl.run(ctx, c.kwokctl.createArgs(c.bins, c.ports)...)
	// Record the component pids even after a failure, so Stop can kill them.
	c.recordPIDs()
	if runErr != nil {
		return runErr
	}
	c.log.Info("control plane started", "elapsed", since(step))

	c.kubeconfig = c.kwokctl.kubeconfigPath()
	if c.restConfig, c.clientset, err = loadKubeconfig(c.kubeconfig); err != nil {
		return err
	}

	step = time.Now()
	if err := c.waitControlPlane(ctx, opts.ReadyTimeout); err != nil {
		return err
	}
	c.log.Info("control plane ready", "elapsed", since(step))

	step = time.Now()
	names, err := createNodes(ctx, c.clientset, 0, opts.Nodes, opts.Zones, c.nodePodCIDR)
	c.mu.Lock()
	c.nodes = names
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := waitNodesReady(ctx, c.clientset, names, opts.ReadyTimeout); err != nil {
		return err
	}
	c.log.Info("nodes ready", "nodes", len(names), "zones", opts.Zones, "elapsed", since(step))
	return nil
}

// recordPIDs remembers the pids of the components kwokctl forked.
func (c *Cluster) recordPIDs() {
	pids := componentPIDs(c.kwokctl.clusterDir())
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pids == nil {
		c.pids = map[string]int{}
	}
	for name, pid := range pids {
		c.pids[name] = pid
	}
}

// waitControlPlane waits until the API server reports /readyz ok, the
// default ServiceAccount exists (the controller manager's controllers run)
// and kube-controller-manager and kube-scheduler hold their leader leases.
func (c *Cluster) waitControlPlane(ctx context.Context, timeout time.Duration) error {
	var last error
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		last = c.controlPlaneReady(ctx)
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("wait for control plane: %w (last: %v)", err, last)
	}
	return nil
}

// controlPlaneReady returns nil when the control plane is ready, or what it
// still waits for.
func (c *Cluster) controlPlaneReady(ctx context.Context) error {
	body, err := c.clientset.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("readyz: %w", err)
	}
	if string(body) != "ok" {
		return fmt.Errorf("readyz: %s", body)
	}
	if _, err := c.clientset.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{}); err != nil {
		return fmt.Errorf("default service account: %w", err)
	}
	for _, lease := range []string{"kube-controller-manager", "kube-scheduler"} {
		l, err := c.clientset.CoordinationV1().Leases(metav1.NamespaceSystem).Get(ctx, lease, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("lease %s: %w", lease, err)
		}
		if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
			return fmt.Errorf("lease %s: no holder", lease)
		}
	}
	return nil
}

// diagnostics returns the last lines of every component log, for errors.
func (c *Cluster) diagnostics() string {
	if c.workdir == "" {
		return ""
	}
	files, _ := filepath.Glob(filepath.Join(c.kwokctl.clusterDir(), "logs", "*.log"))
	var b strings.Builder
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil || len(raw) == 0 {
			continue
		}
		t := &tailBuffer{max: 16 << 10}
		_, _ = t.Write(raw)
		fmt.Fprintf(&b, "\n--- last lines of %s ---\n%s", filepath.Base(f), t.lastLines(15))
	}
	return b.String()
}

// Stop stops a cluster started by Start: `kwokctl delete cluster`, then
// SIGKILL to the process group of any component still alive, then the
// release of the cluster's ports (once no component is left) and removal
// of the work directory. ctx bounds the orderly delete only; the kill and
// the removal happen even when ctx is done. It returns an error only if a
// process or the work directory is left. It is a no-op on a cluster from
// FromKubeconfig and on a cluster already stopped, so it is safe to call
// twice and from t.Cleanup after a failed test.
func (c *Cluster) Stop(ctx context.Context) error {
	if c == nil || c.workdir == "" {
		return nil
	}
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	c.mu.Unlock()

	start := time.Now()
	c.log.Info("stopping cluster", "workdir", c.workdir)
	c.recordPIDs()
	c.resumeBeforeStop()
	// kwokctl's orderly delete needs ctx; the kill and removal below do not,
	// so that a Stop with an expired context (t.Context() in t.Cleanup)
	// still leaves nothing behind. A failed delete is only a warning: what
	// Stop promises is that no process and no file is left, checked below.
	var grace time.Duration
	if _, err := os.Stat(filepath.Join(c.kwokctl.clusterDir(), "kwok.yaml")); err == nil && ctx.Err() == nil {
		if _, err := c.kwokctl.run(ctx, c.kwokctl.deleteArgs()...); err != nil {
			c.log.Warn("kwokctl delete cluster failed; killing the components", "err", err)
		} else {
			grace = 2 * time.Second
		}
	}
	var errs []error
	c.mu.Lock()
	pids := maps.Clone(c.pids)
	c.mu.Unlock()
	killed, err := killLeftovers(c.kwokctl.clusterDir(), pids, grace)
	if err != nil {
		errs = append(errs, err)
	}
	if len(killed) > 0 {
		c.log.Warn("killed leftover processes", "components", strings.Join(killed, ","))
	}
	if err == nil {
		// Nothing of the cluster listens any more: its ports may go to the
		// next cluster. After a failed kill they stay reserved until this
		// process exits.
		if err := c.portSet.Release(); err != nil {
			errs = append(errs, fmt.Errorf("release ports: %w", err))
		}
		if err := c.subnet.Release(); err != nil {
			errs = append(errs, fmt.Errorf("release pod subnet: %w", err))
		}
	}
	if err := os.RemoveAll(c.workdir); err != nil {
		errs = append(errs, fmt.Errorf("remove work dir: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("stop cluster %s: %w", c.name, err)
	}
	c.log.Info("cluster stopped", "elapsed", since(start))
	return nil
}

// FromKubeconfig opens an existing cluster through the kubeconfig at path
// (its current context). It checks that the API server answers and lists
// the nodes for NodeNames. Stop does nothing on such a cluster.
func FromKubeconfig(ctx context.Context, path string) (*Cluster, error) {
	return Open(ctx, path, "")
}

// Open opens an existing cluster through context kubeContext (empty: the
// current one) of the kubeconfig at path, or, when path is empty, of the
// kubeconfig kubectl would use ($KUBECONFIG, ~/.kube/config). Like
// FromKubeconfig, it lists the nodes, and Stop does nothing.
func Open(ctx context.Context, path, kubeContext string) (*Cluster, error) {
	cfg, cs, describe, err := loadKubeconfigContext(path, kubeContext)
	if err != nil {
		return nil, err
	}
	list, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cluster of %s: list nodes: %w", path, err)
	}
	names := make([]string, 0, len(list.Items))
	for _, n := range list.Items {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	return &Cluster{
		name:       cfg.Host,
		describe:   describe,
		kubeconfig: path,
		restConfig: cfg,
		clientset:  cs,
		log:        newLogger(nil),
		nodes:      names,
	}, nil
}

// StartOrConnect opens the cluster of kubeconfig, or of $PRIMUS_TEST_KUBECONFIG
// when kubeconfig is empty, and otherwise starts one with Start. It is what
// a test suite's TestMain or a --kubeconfig flag wants.
func StartOrConnect(ctx context.Context, kubeconfig string, opts Options) (*Cluster, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv(KubeconfigEnv)
	}
	if kubeconfig != "" {
		return FromKubeconfig(ctx, kubeconfig)
	}
	return Start(ctx, opts)
}

// loadKubeconfig builds a REST config and clientset from a kubeconfig file.
func loadKubeconfig(path string) (*rest.Config, *kubernetes.Clientset, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		return nil, nil, fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	// Tests create objects in bursts; client-go's default of 5 QPS would
	// make them wait on the client, not on the cluster.
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("client for %s: %w", path, err)
	}
	return cfg, cs, nil
}

// loadKubeconfigContext is loadKubeconfig with a context, and kubectl's
// search when path is empty. It also returns a description of the cluster
// for the first line of a report: its context, server and kubeconfig.
func loadKubeconfigContext(path, kubeContext string) (*rest.Config, *kubernetes.Clientset, string, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if path != "" {
		rules.ExplicitPath = path
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, nil, "", fmt.Errorf("load kubeconfig %s: %w", path, err)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, nil, "", fmt.Errorf("load kubeconfig %s: %w", orDefault(path, "($KUBECONFIG or ~/.kube/config)"), err)
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, "", fmt.Errorf("client for %s: %w", path, err)
	}
	name := kubeContext
	if name == "" {
		name = raw.CurrentContext
	}
	where := path
	if where == "" {
		where = strings.Join(rules.GetLoadingPrecedence(), ":")
	}
	return cfg, cs, fmt.Sprintf("context %q (%s) of %s", name, cfg.Host, where), nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Describe says which cluster this is, for the first line of a report:
// "embedded (3 nodes, 3 zones)" for a started one, its context, API server
// and kubeconfig for an opened one.
func (c *Cluster) Describe() string {
	if c.workdir != "" {
		return fmt.Sprintf("embedded (%d nodes, %d zones)", len(c.NodeNames()), c.zones)
	}
	if c.describe != "" {
		return c.describe
	}
	return c.name
}

// Name returns the cluster's name (for FromKubeconfig, its API server URL).
func (c *Cluster) Name() string { return c.name }

// Kubeconfig returns the path of an admin kubeconfig for the cluster.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// RESTConfig returns a copy of the admin REST config, free to modify.
func (c *Cluster) RESTConfig() *rest.Config { return rest.CopyConfig(c.restConfig) }

// Clientset returns an admin clientset.
func (c *Cluster) Clientset() kubernetes.Interface { return c.clientset }

// NodeNames returns the names of the cluster's nodes, in creation order for
// a started cluster and sorted for an opened one.
func (c *Cluster) NodeNames() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.nodes)
}

// Readiness returns who makes the Pods of a started cluster Ready;
// ReadyAtOnce for a cluster from FromKubeconfig, whose kubelets decide.
func (c *Cluster) Readiness() Readiness { return c.kwokctl.readiness }

// Embedded reports whether the cluster was started by Start (kwok nodes,
// no kubelet), not opened with FromKubeconfig.
func (c *Cluster) Embedded() bool { return c.workdir != "" }

// AuditLog returns the path of the API server's audit log (JSON lines,
// one audit.k8s.io/v1 Event each), or "" when the cluster was started
// without Options.AuditPolicy or opened with FromKubeconfig.
func (c *Cluster) AuditLog() string {
	if c.workdir == "" || !c.kwokctl.audit {
		return ""
	}
	return c.kwokctl.auditLogPath()
}

// Binaries returns the binaries a started cluster runs, helm included; it is
// the zero value for a cluster from FromKubeconfig.
func (c *Cluster) Binaries() Binaries { return c.bins }

// StopCommand is a shell command that stops a cluster started by Start from
// outside this process (for a cluster kept running with hacheck verify
// --keep); empty for a cluster opened with FromKubeconfig.
func (c *Cluster) StopCommand() string {
	if c.workdir == "" {
		return ""
	}
	args := strings.Join(c.kwokctl.deleteArgs(), " ")
	return fmt.Sprintf("KWOK_WORKDIR=%s %s %s && rm -rf %s", c.kwokctl.workdir, c.bins.Kwokctl, args, c.workdir)
}
