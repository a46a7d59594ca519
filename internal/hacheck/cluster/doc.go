// Package cluster runs a real Kubernetes control plane (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler) on the local machine for tests and
// tools, with nodes simulated by kwok and the processes orchestrated by
// kwokctl's binary runtime.
//
// The binaries are compiled from pinned Go modules on first use and cached
// (see EnsureBinaries); nothing is downloaded at run time. A cluster lives in
// a private temporary work directory, listens on loopback ports reserved for
// it outside the kernel's ephemeral range (package portlock), so that no
// other process can take them, and is removed, processes, files and port
// reservations, by Cluster.Stop.
//
// It is not a general cluster manager: there is no container runtime, pods
// never run a process (kwok only fakes their status), and there is no
// networking between pods. Use FromKubeconfig to run the same code against a
// real cluster instead.
package cluster
