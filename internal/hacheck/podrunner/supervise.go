package podrunner

import (
	"context"
	"syscall"
	"time"
)

// supervise owns the process of one Pod: it starts it, probes it, restarts
// it when it exits while the Pod lives, and stops it when the Pod goes.
func (r *Runner) supervise(e *entry) {
	defer r.wg.Done()
	defer close(e.done)
	defer r.exit(e)
	log := r.log.With("pod", e.name)
	// The Pod stays until its process is gone for good (see Finalizer);
	// deferred after exit, so it runs before exit marks the entry exited.
	held := false
	defer func() {
		if held {
			r.releasePod(e)
		}
	}()
	var state containerState // what the Pod's status should say
	for e.ctx.Err() == nil {
		if !held {
			if err := r.holdPod(e); err != nil {
				if e.ctx.Err() == nil {
					log.Error("hold pod with a finalizer", "err", err)
				}
				r.sleep(e.ctx, r.opts.RestartDelay)
				continue
			}
			held = true
		}
		r.mu.Lock()
		pod := e.pod
		r.mu.Unlock()
		p, err := r.opts.Starter.Start(e.ctx, pod)
		if err != nil {
			if e.ctx.Err() == nil {
				log.Error("start pod process", "node", pod.Spec.NodeName, "err", err)
			}
			r.sleep(e.ctx, r.opts.RestartDelay)
			continue
		}
		r.mu.Lock()
		e.proc, e.started, e.ready, e.readySince = p, time.Now(), false, time.Time{}
		e.procs = append(e.procs, p)
		if e.phase == PhaseStarting {
			e.phase = PhaseRunning
		}
		r.recordLocked()
		r.mu.Unlock()
		imageID, err := imageIDOf(p)
		if err != nil {
			log.Warn("pod process runs no image the Runner can name; imageID left empty", "err", err)
		}
		log.Info("pod process started", "node", pod.Spec.NodeName, "imageID", imageID)
		state.ready, state.running, state.started, state.imageID = false, true, time.Now(), imageID
		r.writeStatus(e, state)

		if r.probe(e, p, &state) {
			r.terminate(e, p)
			r.mu.Lock()
			closing := e.closing
			r.mu.Unlock()
			if closing {
				// The Pod lives on without its process: say so.
				state.ready, state.running, state.exitedAt, state.exitCode = false, false, time.Now(), exitCode(p)
				r.writeStatus(e, state)
			}
			return
		}
		// The process exited on its own while the Pod lives.
		r.mu.Lock()
		e.restarts++
		e.ready = false
		if e.ctx.Err() == nil {
			e.phase = PhaseStarting
		}
		restarts := e.restarts
		r.recordLocked()
		r.mu.Unlock()
		log.Warn("pod process exited; restarting", "restarts", restarts, "delay", r.opts.RestartDelay)
		state.ready, state.running, state.restarts, state.exitedAt = false, false, restarts, time.Now()
		state.exitCode = exitCode(p)
		r.writeStatus(e, state)
		r.sleep(e.ctx, r.opts.RestartDelay)
	}
}

// probe asks p's readiness every ProbePeriod until p exits (false) or the
// Pod goes (true), and writes each change into the Pod's status.
func (r *Runner) probe(e *entry, p Process, state *containerState) (stop bool) {
	tick := time.NewTicker(r.opts.ProbePeriod)
	defer tick.Stop()
	for {
		select {
		case <-p.Done():
			return e.ctx.Err() != nil
		case <-e.ctx.Done():
			return true
		case <-tick.C:
		}
		ctx, cancel := context.WithTimeout(e.ctx, time.Second)
		ready := p.Ready(ctx)
		cancel()
		r.mu.Lock()
		if ready && !e.ready {
			e.readySince = time.Now()
		}
		e.ready = ready
		r.recordLocked()
		r.mu.Unlock()
		if e.ctx.Err() == nil {
			state.ready = ready
			r.writeStatus(e, *state)
		}
	}
}

// exitCode is the exit code of an exited process that tells it, else 1.
func exitCode(p Process) int {
	if c, ok := p.(interface{ ExitCode() int }); ok {
		return c.ExitCode()
	}
	return 1
}

// terminate stops p the way the kubelet stops a container of a deleted
// Pod: the preStop sleep, SIGTERM, and SIGKILL once the grace period (at
// least 2 s after SIGTERM when a preStop hook ran) is over, or at once when
// Close gives up.
func (r *Runner) terminate(e *entry, p Process) {
	r.mu.Lock()
	pod, closing, requested, grace := e.pod, e.closing, e.stopRequested, e.grace
	r.mu.Unlock()
	log := r.log.With("pod", e.name)
	deadline := requested.Add(grace)

	if d := preStopSleep(pod); d > 0 && !closing {
		wake := min(time.Until(requested.Add(d)), time.Until(deadline))
		select {
		case <-time.After(wake):
		case <-p.Done():
		case <-r.kill:
		}
	}
	_ = p.Signal(syscall.SIGTERM)
	termAt := time.Now()
	if preStopSleep(pod) > 0 && !closing {
		deadline = maxTime(deadline, termAt.Add(minGraceAfterPreStop))
	}
	select {
	case <-p.Done():
		log.Info("pod process stopped", "after", time.Since(requested).Round(time.Millisecond))
		return
	case <-time.After(time.Until(deadline)):
		log.Warn("pod process did not stop within its grace period; killing it", "grace", grace)
	case <-r.kill:
		log.Warn("runner closing; killing pod process")
	}
	_ = p.Signal(syscall.SIGKILL)
	<-p.Done()
}

// exit marks e's process exited for good.
func (r *Runner) exit(e *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e.phase, e.ready, e.exited = PhaseExited, false, time.Now()
	r.recordLocked()
}

// sleep waits for d or until ctx ends.
func (r *Runner) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
