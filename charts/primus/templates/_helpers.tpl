{{/*
Names. Every name used in two places comes from one helper, so a Role's
resourceNames and the Deployment's args can never disagree.
*/}}

{{/* primus.name is the chart name, or nameOverride. */}}
{{- define "primus.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* primus.fullname is the prefix of every resource name. */}}
{{- define "primus.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* primus.chart is name-version, for the helm.sh/chart label. */}}
{{- define "primus.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* primus.selectorLabels select exactly this release's pods. */}}
{{- define "primus.selectorLabels" -}}
app.kubernetes.io/name: {{ include "primus.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* primus.labels go on every resource. */}}
{{- define "primus.labels" -}}
helm.sh/chart: {{ include "primus.chart" . }}
{{ include "primus.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: primus
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* primus.serviceAccountName is the ServiceAccount the pods run as. */}}
{{- define "primus.serviceAccountName" -}}
{{- $sa := .Values.serviceAccount | default dict }}
{{- if dig "create" true $sa }}
{{- default (include "primus.fullname" .) (dig "name" "" $sa) }}
{{- else }}
{{- default "default" (dig "name" "" $sa) }}
{{- end }}
{{- end }}

{{/*
primus.leaderElection is the leaderElection section with every default
filled in, as YAML (use: include "primus.leaderElection" . | fromYaml).
Templates read it instead of .Values.leaderElection so an upgrade with
--reuse-values from a release whose stored values lack a key still renders.
*/}}
{{- define "primus.leaderElection" -}}
{{- $le := .Values.leaderElection | default dict }}
enabled: {{ dig "enabled" true $le }}
leaseName: {{ default (printf "%s-leader" (include "primus.fullname" .)) (dig "leaseName" "" $le) | quote }}
namespace: {{ default .Release.Namespace (dig "namespace" "" $le) | quote }}
leaseDuration: {{ dig "leaseDuration" "15s" $le | quote }}
renewDeadline: {{ dig "renewDeadline" "10s" $le | quote }}
retryPeriod: {{ dig "retryPeriod" "2s" $le | quote }}
createLease: {{ dig "createLease" true $le }}
podDeletionCost: {{ dig "podDeletionCost" true $le }}
watch: {{ dig "watch" true $le }}
priorityLevel: {{ dig "priorityLevel" "leader-election" $le | quote }}
{{- end }}

{{/* primus.leaseName is the name of the leader-election Lease. */}}
{{- define "primus.leaseName" -}}
{{- (include "primus.leaderElection" . | fromYaml).leaseName }}
{{- end }}

{{/* primus.leaseNamespace is the namespace of the leader-election Lease. */}}
{{- define "primus.leaseNamespace" -}}
{{- (include "primus.leaderElection" . | fromYaml).namespace }}
{{- end }}

{{/*
primus.shutdownTimeoutSeconds is the binary's --shutdown-timeout in seconds:
terminationGracePeriodSeconds - shutdownDelaySeconds - the lease client's
request timeout (max(renewDeadline/2, 1s), rounded up), so that a leader's
release of the Lease, sent at the latest when the timeout ends, lands before
the kubelet's SIGKILL. It may be zero or negative; primus.validate refuses that.
*/}}
{{- define "primus.shutdownTimeoutSeconds" -}}
{{- $le := include "primus.leaderElection" . | fromYaml }}
{{- $renew := int64 (include "ha-lib.durationMs" (list "leaderElection.renewDeadline" $le.renewDeadline)) }}
{{- $release := max 1000 (div $renew 2) }}
{{- $releaseS := div (add $release 999) 1000 }}
{{- sub (sub (include "primus.terminationGracePeriodSeconds" . | int64) (include "primus.shutdownDelaySeconds" . | int64)) $releaseS }}
{{- end }}

{{/*
primus.terminationGracePeriodSeconds and primus.shutdownDelaySeconds read
the values with hasKey, so an explicit 0 is kept (default would replace it).
*/}}
{{- define "primus.terminationGracePeriodSeconds" -}}
{{- ternary .Values.terminationGracePeriodSeconds 30 (hasKey .Values "terminationGracePeriodSeconds") | int64 }}
{{- end }}
{{- define "primus.shutdownDelaySeconds" -}}
{{- ternary .Values.shutdownDelaySeconds 0 (hasKey .Values "shutdownDelaySeconds") | int64 }}
{{- end }}

{{/*
primus.projectScopePolicy is "true" when the ValidatingAdmissionPolicy that
bounds the platform's ServiceAccount to Project namespaces is rendered:
rbac.create and rbac.projectScopePolicy on, and Kubernetes 1.30 or later
(admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy is GA there;
.Capabilities.KubeVersion, so helm template renders it too); else "".
*/}}
{{- define "primus.projectScopePolicy" -}}
{{- $rbac := .Values.rbac | default dict }}
{{- if and (dig "create" true $rbac) (dig "projectScopePolicy" true $rbac) (semverCompare ">=1.30.0-0" .Capabilities.KubeVersion.Version) }}true{{ end }}
{{- end }}

{{/* primus.healthPort is healthPort (hasKey: an explicit value is kept). */}}
{{- define "primus.healthPort" -}}
{{- ternary .Values.healthPort 8081 (hasKey .Values "healthPort") }}
{{- end }}

{{/* primus.replicaCount is replicaCount, 1 when a stored release lacks it. */}}
{{- define "primus.replicaCount" -}}
{{- if hasKey .Values "replicaCount" }}{{ int .Values.replicaCount }}{{ else }}1{{ end }}
{{- end }}

{{/* primus.pdb is the podDisruptionBudget section with defaults, as YAML. */}}
{{- define "primus.pdb" -}}
{{- $p := .Values.podDisruptionBudget | default dict }}
enabled: {{ dig "enabled" true $p }}
{{- $min := dig "minAvailable" nil $p }}
{{- if not (kindIs "invalid" $min) }}
minAvailable: {{ toJson $min }}
{{- end }}
{{- $max := dig "maxUnavailable" nil $p }}
{{- if not (kindIs "invalid" $max) }}
maxUnavailable: {{ toJson $max }}
{{- end }}
unhealthyPodEvictionPolicy: {{ dig "unhealthyPodEvictionPolicy" "AlwaysAllow" $p }}
{{- end }}

{{/* primus.pdbEnabled is "true" when the PodDisruptionBudget is rendered. */}}
{{- define "primus.pdbEnabled" -}}
{{- $pdb := include "primus.pdb" . | fromYaml }}
{{- and $pdb.enabled (gt (int (include "primus.replicaCount" .)) 1) }}
{{- end }}

{{/* primus.image is the container image reference. */}}
{{- define "primus.image" -}}
{{- $img := .Values.image | default dict }}
{{- $repo := dig "repository" "ghcr.io/primus-dev/primus" $img }}
{{- with dig "digest" "" $img }}
{{- printf "%s@%s" $repo . }}
{{- else }}
{{- printf "%s:%s" $repo (default .Chart.AppVersion (dig "tag" "" $img)) }}
{{- end }}
{{- end }}

{{/*
primus.clusterResourceName names cluster-scoped objects: the full name plus
the namespace, so releases of the same name in two namespaces do not collide.
*/}}
{{- define "primus.clusterResourceName" -}}
{{- printf "%s-%s" (include "primus.fullname" .) .Release.Namespace | trunc 253 | trimSuffix "-" }}
{{- end }}
