// Package audit is the split-brain oracle of hacheck failover and the chaos
// suites: it reads the kube-apiserver's own audit log, not the processes'
// logs. Every primus process sends its requests with its own user agent
// (platform.UserAgent: identity and process id), so each write is
// attributed to the process that made it, with the API server's own
// timestamps on one clock.
//
// From the writes to the leader Lease it derives each process's tenures
// (from the write that made it the holder to the first write that took the
// Lease from it, or its last renewal plus the lease duration); from the
// writes to what the controller writes (Projects and their status, the
// Namespaces, RoleBindings and ResourceQuotas it creates) it finds split
// brain: a controller write that a process made outside its own tenure, or
// two processes' controller writes in flight at once. A renamed log line
// cannot hide either. The processes' logs stay the human explanation.
//
// Policy is the audit policy it needs; cluster.Options.AuditPolicy turns
// it on for the embedded cluster.
package audit

// Policy is the audit policy the oracle needs, and no more: successful or
// not, every write to a Lease outside the system namespaces with its
// response (the Lease after the write: holder, renewTime, transitions),
// and the metadata (who, which user agent, when) of every write to
// Projects, Namespaces, RoleBindings and ResourceQuotas. Only the
// ResponseComplete stage is logged: one line per request.
const Policy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived", "ResponseStarted"]
rules:
- level: None
  namespaces: ["kube-system", "kube-node-lease", "kube-public"]
- level: None
  nonResourceURLs: ["*"]
- level: RequestResponse
  verbs: ["create", "update", "patch", "delete"]
  resources:
  - group: coordination.k8s.io
    resources: ["leases"]
- level: Metadata
  verbs: ["create", "update", "patch", "delete", "deletecollection"]
  resources:
  - group: primus.dev
    resources: ["projects", "projects/status"]
  - group: ""
    resources: ["namespaces", "resourcequotas"]
  - group: rbac.authorization.k8s.io
    resources: ["rolebindings"]
- level: None
`
