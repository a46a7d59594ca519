package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/primus-dev/primus/internal/hacheck/replica"
)

// costComponents are the control-plane processes whose CPU time
// BenchmarkPlatform reports, besides the primus replicas'.
var costComponents = []string{"kube-apiserver", "etcd", "kube-controller-manager"}

// controlPlaneCost is the CPU time spent over a window (load and backlog)
// by the control plane's processes, the replicas and the whole machine:
// it says whether the processes that do the work got the cores, or the
// machine was busy with other work.
type controlPlaneCost struct {
	cpu       map[string]time.Duration // by component, and "primus" for the replicas
	busy, all time.Duration            // machine-wide, from /proc/stat
}

// snapshotCost reads the CPU counters now; since turns two into a cost.
func (e *platformEnv) snapshotCost() (controlPlaneCost, error) {
	c := controlPlaneCost{cpu: map[string]time.Duration{}}
	pids := e.cluster.ComponentPIDs()
	for _, name := range costComponents {
		pid, ok := pids[name]
		if !ok {
			continue
		}
		u, err := replica.ProcessUsage(pid)
		if err != nil {
			return c, err
		}
		c.cpu[name] = u.CPU
	}
	for _, r := range e.set.Live() {
		u, err := r.Usage()
		if err != nil {
			continue // exited meanwhile: measure reports it
		}
		c.cpu["primus/"+r.Name] = u.CPU
	}
	var err error
	c.busy, c.all, err = machineCPU()
	return c, err
}

func (c controlPlaneCost) since(before controlPlaneCost) controlPlaneCost {
	out := controlPlaneCost{cpu: map[string]time.Duration{}, busy: c.busy - before.busy, all: c.all - before.all}
	for k, v := range c.cpu {
		b, ok := before.cpu[k]
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(k, "/") // the replicas add up to "primus"
		out.cpu[name] += v - b
	}
	return out
}

// machineCPU reads the busy and total CPU time of all cores from the
// first line of /proc/stat (user nice system idle iowait irq softirq
// steal, in USER_HZ ticks).
func machineCPU() (busy, all time.Duration, err error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("machine cpu: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("machine cpu: bad /proc/stat line %q", line)
	}
	var ticks [8]int64
	for i := range ticks {
		if ticks[i], err = strconv.ParseInt(fields[i+1], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("machine cpu: %w", err)
		}
	}
	var total int64
	for _, t := range ticks {
		total += t
	}
	idle := ticks[3] + ticks[4]
	tick := time.Second / 100
	return time.Duration(total-idle) * tick, time.Duration(total) * tick, nil
}

// reportCost reports the mean CPU seconds of each component over load and
// backlog, the machine's busy share, and the share of the machine the
// platform (control plane and replicas) got.
func reportCost(b *testing.B, costs []controlPlaneCost) {
	if len(costs) == 0 {
		return
	}
	sum := map[string]float64{}
	var busy, ours float64
	for _, c := range costs {
		var own time.Duration
		for k, v := range c.cpu {
			sum[k] += v.Seconds()
			own += v
		}
		if c.all > 0 {
			busy += 100 * float64(c.busy) / float64(c.all)
			ours += 100 * float64(own) / float64(c.all)
		}
	}
	n := float64(len(costs))
	for _, name := range append(costComponents, "primus") {
		b.ReportMetric(sum[name]/n, "cpu-s/"+name)
	}
	b.ReportMetric(busy/n, "machine-busy-%")
	b.ReportMetric(ours/n, "platform-share-%")
	b.ReportMetric(float64(runtime.NumCPU()), "cores")
}
