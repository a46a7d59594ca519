//go:build linux

package podnet

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNamespace runs fn on an OS thread that has joined ns, and lets that
// thread die afterwards instead of returning it to the Go scheduler: a
// thread is never handed back in the wrong namespace, even when switching
// back would fail. Sockets fn creates stay in ns; a child process fn starts
// is born in ns (the fork happens on this thread).
func inNamespace(ns netns.NsHandle, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the thread exits with this goroutine.
		runtime.LockOSThread()
		if err := netns.Set(ns); err != nil {
			errc <- fmt.Errorf("join network namespace: %w", err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}

// newNamespace creates an unnamed network namespace and returns a handle
// that keeps it alive until closed (or until the last process in it exits,
// whichever is later).
func newNamespace() (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	c := make(chan result, 1)
	go func() {
		// Never unlocked: netns.New moves this thread into the new
		// namespace, and the thread exits with this goroutine.
		runtime.LockOSThread()
		ns, err := netns.New()
		c <- result{ns, err}
	}()
	r := <-c
	if r.err != nil {
		return netns.None(), fmt.Errorf("create a network namespace: %w", r.err)
	}
	return r.ns, nil
}
