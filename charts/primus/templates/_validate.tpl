{{/*
primus.validate refuses value combinations the schema cannot express, with a
message that names the keys. deployment.yaml includes it first.
*/}}
{{- define "primus.validate" -}}
{{- $replicas := int (include "primus.replicaCount" .) }}
{{- if lt $replicas 1 }}
{{- fail (printf "replicaCount: must be >= 1, got %d" $replicas) }}
{{- end }}
{{- $le := include "primus.leaderElection" . | fromYaml }}
{{- $strategy := .Values.strategy | default dict }}
{{- $strategyType := dig "type" "RollingUpdate" $strategy }}
{{- if not $le.enabled }}
{{- if gt $replicas 1 }}
{{- fail (printf "replicaCount: %d replicas need leaderElection.enabled=true (only the Lease keeps their controllers from running twice)" $replicas) }}
{{- end }}
{{- if ne $strategyType "Recreate" }}
{{- fail "leaderElection.enabled: false needs strategy.type=Recreate (a rolling update briefly runs two pods, and without the Lease both would run the controllers)" }}
{{- end }}
{{- end }}
{{- $lease := int64 (include "primus.durationMs" (list "leaderElection.leaseDuration" $le.leaseDuration)) }}
{{- $renew := int64 (include "primus.durationMs" (list "leaderElection.renewDeadline" $le.renewDeadline)) }}
{{- $retry := int64 (include "primus.durationMs" (list "leaderElection.retryPeriod" $le.retryPeriod)) }}
{{- if not (lt $renew $lease) }}
{{- fail (printf "leaderElection.renewDeadline: %s must be shorter than leaderElection.leaseDuration (%s)" $le.renewDeadline $le.leaseDuration) }}
{{- end }}
{{- if not (lt $retry $renew) }}
{{- fail (printf "leaderElection.retryPeriod: %s must be shorter than leaderElection.renewDeadline (%s)" $le.retryPeriod $le.renewDeadline) }}
{{- end }}
{{- $grace := int64 (default 30 .Values.terminationGracePeriodSeconds) }}
{{- $preStop := int64 (default 0 .Values.shutdownDelaySeconds) }}
{{- if lt (mul $grace 1000) (add (mul $preStop 1000) $renew) }}
{{- fail (printf "terminationGracePeriodSeconds: %d s is shorter than shutdownDelaySeconds (%d s) plus leaderElection.renewDeadline (%s); a stopping leader needs time to release its Lease" $grace $preStop $le.renewDeadline) }}
{{- end }}
{{- $pdb := include "primus.pdb" . | fromYaml }}
{{- if and (hasKey $pdb "minAvailable") (hasKey $pdb "maxUnavailable") }}
{{- fail "podDisruptionBudget: set minAvailable or maxUnavailable, not both" }}
{{- end }}
{{- if and $pdb.enabled (gt $replicas 1) }}
{{- if hasKey $pdb "minAvailable" }}
{{- $min := int (include "primus.scaledPercent" (list $pdb.minAvailable $replicas)) }}
{{- if ge $min $replicas }}
{{- fail (printf "podDisruptionBudget.minAvailable: %v of %d replicas allows no disruption; a node drain would block forever (use at most %d)" $pdb.minAvailable $replicas (sub $replicas 1)) }}
{{- end }}
{{- end }}
{{- if hasKey $pdb "maxUnavailable" }}
{{- $max := int (include "primus.scaledPercent" (list $pdb.maxUnavailable $replicas)) }}
{{- if lt $max 1 }}
{{- fail (printf "podDisruptionBudget.maxUnavailable: %v allows no disruption; a node drain would block forever (use at least 1)" $pdb.maxUnavailable) }}
{{- end }}
{{- end }}
{{- end }}
{{- $mode := default "soft" .Values.podAntiAffinity }}
{{- if not (has $mode (list "soft" "hard")) }}
{{- fail (printf "podAntiAffinity: %q must be soft or hard" $mode) }}
{{- end }}
{{- end }}
