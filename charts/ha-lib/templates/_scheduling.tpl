{{/*
ha-lib.podAntiAffinity is a podAntiAffinity block that keeps replicas off
one node (or one "topologyKey" domain). "mode" is soft (default: a
preference the scheduler may break when nodes are short) or hard (a
requirement: a replica stays Pending rather than share a node).
Use, under a pod spec's affinity:
  affinity:
    {{- include "ha-lib.podAntiAffinity" (dict "mode" "soft"
          "selectorLabels" (include "my.selectorLabels" .)) | nindent 4 }}
"weight" (default 100) weighs the soft term; "topologyKey" defaults to
kubernetes.io/hostname. matchLabelKeys pod-template-hash scopes the term to
one ReplicaSet, so a rollout's surge pod is not pushed away by the old ones;
pass "matchLabelKeys" false for clusters before Kubernetes 1.31, where the
field is off by default and the API server drops it silently (a hard term
then counts the old ReplicaSet's pods too: a rollout needs a spare node or
maxUnavailable >= 1). Unset numbers take their defaults; an explicit 0 is
kept (and refused by the API server), never replaced.
*/}}
{{- define "ha-lib.podAntiAffinity" -}}
{{- $mode := default "soft" .mode }}
{{- if not (has $mode (list "soft" "hard")) }}
{{- fail (printf "%s: %q must be soft or hard" (default "podAntiAffinity" .key) $mode) }}
{{- end }}
{{- $topologyKey := default "kubernetes.io/hostname" .topologyKey -}}
{{- $weight := 100 }}
{{- if not (kindIs "invalid" .weight) }}{{ $weight = .weight }}{{ end }}
{{- $keys := true }}
{{- if not (kindIs "invalid" .matchLabelKeys) }}{{ $keys = .matchLabelKeys }}{{ end -}}
podAntiAffinity:
  {{- if eq $mode "hard" }}
  requiredDuringSchedulingIgnoredDuringExecution:
    - topologyKey: {{ $topologyKey | quote }}
      labelSelector:
        matchLabels:
          {{- include "ha-lib.yaml" .selectorLabels | nindent 10 }}
      {{- if $keys }}
      matchLabelKeys:
        - pod-template-hash
      {{- end }}
  {{- else }}
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: {{ $weight }}
      podAffinityTerm:
        topologyKey: {{ $topologyKey | quote }}
        labelSelector:
          matchLabels:
            {{- include "ha-lib.yaml" .selectorLabels | nindent 12 }}
        {{- if $keys }}
        matchLabelKeys:
          - pod-template-hash
        {{- end }}
  {{- end }}
{{- end }}

{{/*
ha-lib.zoneSpread is one topologySpreadConstraints item spreading replicas
over zones. "whenUnsatisfiable" is ScheduleAnyway (default, soft) or
DoNotSchedule (hard); "maxSkew" defaults to 1 and "topologyKey" to
topology.kubernetes.io/zone.
Use, under a pod spec:
  topologySpreadConstraints:
    {{- include "ha-lib.zoneSpread" (dict
          "selectorLabels" (include "my.selectorLabels" .)) | nindent 4 }}
*/}}
{{- define "ha-lib.zoneSpread" -}}
- maxSkew: {{ if kindIs "invalid" .maxSkew }}1{{ else }}{{ .maxSkew }}{{ end }}
  topologyKey: {{ default "topology.kubernetes.io/zone" .topologyKey | quote }}
  whenUnsatisfiable: {{ default "ScheduleAnyway" .whenUnsatisfiable }}
  labelSelector:
    matchLabels:
      {{- include "ha-lib.yaml" .selectorLabels | nindent 6 }}
  matchLabelKeys:
    - pod-template-hash
{{- end }}
