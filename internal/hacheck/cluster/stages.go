package cluster

import (
	"strings"

	nodefast "sigs.k8s.io/kwok/kustomize/stage/node/fast"
	nodeheartbeat "sigs.k8s.io/kwok/kustomize/stage/node/heartbeat-with-lease"
	podfast "sigs.k8s.io/kwok/kustomize/stage/pod/fast"
)

// Readiness says who makes a scheduled Pod Ready on a started cluster.
type Readiness string

const (
	// ReadyAtOnce is kwok's default: a scheduled Pod becomes Running and
	// Ready at once, with nothing running.
	ReadyAtOnce Readiness = ""
	// ReadyByRunner: a scheduled Pod becomes Running with its Ready and
	// ContainersReady conditions False, and stays so until something else
	// sets them: internal/hacheck/podrunner, from its process's /readyz, as
	// a kubelet does from its readiness probe. The Deployment, the
	// PodDisruptionBudget and the Service's endpoints then see the
	// processes' real readiness. A Pod nothing runs never becomes Ready.
	ReadyByRunner Readiness = "runner"
)

// podStartStage is ReadyByRunner's replacement of kwok's pod-ready stage:
// the same selector (a Pending Pod, not Ready, not being deleted) and the
// same status, except that the containers are started but not ready, so
// Ready and ContainersReady are False. Nothing in kwok touches the Pod
// again (its phase is Running), so the podrunner owns the conditions.
const podStartStage = `apiVersion: kwok.x-k8s.io/v1alpha1
kind: Stage
metadata:
  name: pod-start-unready
spec:
  resourceRef:
    apiGroup: v1
    kind: Pod
  selector:
    matchExpressions:
    - key: '.metadata.deletionTimestamp'
      operator: 'DoesNotExist'
    - key: '.status.phase'
      operator: 'In'
      values:
      - 'Pending'
    - key: '.status.conditions.[] | select( .type == "Ready" ) | .status'
      operator: 'NotIn'
      values:
      - 'True'
  next:
    statusTemplate: |
      {{ $now := Now }}

      conditions:
      - lastTransitionTime: {{ $now | Quote }}
        status: "True"
        type: Initialized
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: Ready
      - lastTransitionTime: {{ $now | Quote }}
        status: "False"
        reason: ContainersNotReady
        type: ContainersReady

      containerStatuses:
      {{ range .spec.containers }}
      - image: {{ .image | Quote }}
        name: {{ .name | Quote }}
        ready: false
        started: true
        restartCount: 0
        state:
          running:
            startedAt: {{ $now | Quote }}
      {{ end }}
      {{ $hostIPs := NodeIPsWith .spec.nodeName }}
      {{ with $hostIPs }}
      hostIP: {{ index . 0 | Quote }}
      hostIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      {{ $podIPs := PodIPsWith .spec.nodeName ( or .spec.hostNetwork false ) ( or .metadata.uid "" ) ( or .metadata.name "" ) ( or .metadata.namespace "" ) }}
      {{ with $podIPs }}
      podIP: {{ index . 0 | Quote }}
      podIPs:
      {{ range . }}
      - ip: {{ . | Quote }}
      {{ end }}
      {{ end }}
      phase: Running
      startTime: {{ $now | Quote }}
`

// stagesYAML returns the kwok Stages for r as YAML documents to append to
// the kwokctl configuration, or "" for kwok's defaults. kwokctl uses the
// Stages of its configuration instead of all of its defaults, so
// ReadyByRunner lists kwok's own default node and pod stages (those of the
// pinned module, as kwokctl would) with pod-ready replaced.
func stagesYAML(r Readiness) string {
	if r != ReadyByRunner {
		return ""
	}
	docs := []string{
		nodefast.DefaultNodeInit,
		nodeheartbeat.DefaultNodeHeartbeatWithLease,
		podStartStage,
		podfast.DefaultPodComplete,
		podfast.DefaultPodDelete,
	}
	var b strings.Builder
	for _, d := range docs {
		b.WriteString("---\n")
		b.WriteString(strings.TrimSpace(d))
		b.WriteString("\n")
	}
	return b.String()
}
