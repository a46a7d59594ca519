{{/*
ha-lib.podDisruptionBudget renders a PodDisruptionBudget only when
replicas > 1 (at one replica a PDB blocks every node drain), and fails when
the budget would allow no disruption. Without minAvailable or maxUnavailable
it uses maxUnavailable: 1.
Use:
  include "ha-lib.podDisruptionBudget" (dict "name" "my-op"
    "namespace" .Release.Namespace "labels" (include "my.labels" .)
    "replicas" .Values.replicaCount
    "selectorLabels" (include "my.selectorLabels" .)
    "minAvailable" nil "maxUnavailable" nil
    "unhealthyPodEvictionPolicy" "AlwaysAllow" "key" "podDisruptionBudget")
"key" names the values section in error messages.
*/}}
{{- define "ha-lib.podDisruptionBudget" -}}
{{- if gt (int .replicas) 1 }}
{{- include "ha-lib.validatePodDisruptionBudget" . -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  {{- include "ha-lib.labels" .labels | nindent 2 }}
spec:
  {{- if not (kindIs "invalid" .minAvailable) }}
  minAvailable: {{ .minAvailable }}
  {{- else }}
  maxUnavailable: {{ kindIs "invalid" .maxUnavailable | ternary 1 .maxUnavailable }}
  {{- end }}
  unhealthyPodEvictionPolicy: {{ default "AlwaysAllow" .unhealthyPodEvictionPolicy }}
  selector:
    matchLabels:
      {{- include "ha-lib.yaml" .selectorLabels | nindent 6 }}
{{- end }}
{{- end }}

{{/*
ha-lib.validatePodDisruptionBudget fails when a budget for "replicas" pods
would allow no disruption, naming the values key ("key", default
podDisruptionBudget). It takes the same dict as ha-lib.podDisruptionBudget.
*/}}
{{- define "ha-lib.validatePodDisruptionBudget" -}}
{{- $key := default "podDisruptionBudget" .key }}
{{- $replicas := int .replicas }}
{{- $hasMin := not (kindIs "invalid" .minAvailable) }}
{{- $hasMax := not (kindIs "invalid" .maxUnavailable) }}
{{- if and $hasMin $hasMax }}
{{- fail (printf "%s: set minAvailable or maxUnavailable, not both" $key) }}
{{- end }}
{{- if gt $replicas 1 }}
{{- if $hasMin }}
{{- $min := int (include "ha-lib.scaledPercent" (list .minAvailable $replicas)) }}
{{- if ge $min $replicas }}
{{- fail (printf "%s.minAvailable: %v of %d replicas allows no disruption; a node drain would block forever (use at most %d)" $key .minAvailable $replicas (sub $replicas 1)) }}
{{- end }}
{{- end }}
{{- if $hasMax }}
{{- $max := int (include "ha-lib.scaledPercent" (list .maxUnavailable $replicas)) }}
{{- if lt $max 1 }}
{{- fail (printf "%s.maxUnavailable: %v allows no disruption; a node drain would block forever (use at least 1)" $key .maxUnavailable) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
ha-lib.scaledPercent resolves an int-or-percentage against a replica count,
rounding up as the disruption controller does.
Use: include "ha-lib.scaledPercent" (list value replicas).
*/}}
{{- define "ha-lib.scaledPercent" -}}
{{- $v := toString (index . 0) }}
{{- $replicas := int (index . 1) }}
{{- if hasSuffix "%" $v }}
{{- $p := trimSuffix "%" $v | int }}
{{- div (add (mul $replicas $p) 99) 100 }}
{{- else }}
{{- int $v }}
{{- end }}
{{- end }}

{{/* ha-lib.yaml renders a YAML string as is, or a map with toYaml. */}}
{{- define "ha-lib.yaml" -}}
{{- if kindIs "string" . }}{{ . }}{{ else }}{{ toYaml . }}{{ end }}
{{- end }}
