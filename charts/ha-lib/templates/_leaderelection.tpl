{{/*
ha-lib.leaderElectionArgs renders a container's leader-election flags as
YAML list items, in one of the dialects controllers use:
  controller-runtime  --leader-elect --leader-election-id
                      --leader-election-namespace --lease-duration
                      --renew-deadline --retry-period (kubebuilder and
                      operator-sdk scaffolds, Primus)
  component-base      --leader-elect --leader-elect-resource-name
                      --leader-elect-resource-namespace
                      --leader-elect-lease-duration
                      --leader-elect-renew-deadline --leader-elect-retry-period
                      (k8s.io/component-base: kube-controller-manager,
                      kube-scheduler and controllers built on its options)
Timing flags are rendered only when set, so the binary keeps its defaults.
It validates the timings first (ha-lib.validateLeaseTiming).
Use, under a container:
  args:
    {{- include "ha-lib.leaderElectionArgs" (dict "dialect" "controller-runtime"
          "enabled" true "leaseName" "my-op-leader" "namespace" .Release.Namespace
          "leaseDuration" "15s" "renewDeadline" "10s" "retryPeriod" "2s") | nindent 4 }}
*/}}
{{- define "ha-lib.leaderElectionArgs" -}}
{{- $dialects := dict
    "controller-runtime" (dict "enabled" "leader-elect" "name" "leader-election-id" "namespace" "leader-election-namespace" "leaseDuration" "lease-duration" "renewDeadline" "renew-deadline" "retryPeriod" "retry-period")
    "component-base" (dict "enabled" "leader-elect" "name" "leader-elect-resource-name" "namespace" "leader-elect-resource-namespace" "leaseDuration" "leader-elect-lease-duration" "renewDeadline" "leader-elect-renew-deadline" "retryPeriod" "leader-elect-retry-period") }}
{{- $dialect := default "controller-runtime" .dialect }}
{{- $f := get $dialects $dialect }}
{{- if not $f }}
{{- fail (printf "ha-lib.leaderElectionArgs: dialect %q must be controller-runtime or component-base" $dialect) }}
{{- end }}
{{- include "ha-lib.validateLeaseTiming" . -}}
- --{{ $f.enabled }}={{ dig "enabled" true . }}
{{- with .leaseName }}
- --{{ $f.name }}={{ . }}
{{- end }}
{{- with .namespace }}
- --{{ $f.namespace }}={{ . }}
{{- end }}
{{- if eq $dialect "component-base" }}
- --leader-elect-resource-lock=leases
{{- end }}
{{- range $k := list "leaseDuration" "renewDeadline" "retryPeriod" }}
{{- with get $ $k }}
- --{{ get $f $k }}={{ . }}
{{- end }}
{{- end }}
{{- end }}

{{/*
ha-lib.validateLeaseTiming fails on lease timings client-go's
leaderelection.NewLeaderElector refuses at startup: each must be a positive
duration, leaseDuration > renewDeadline, and renewDeadline > 1.2 x
retryPeriod (client-go's JitterFactor). Unset timings are not checked.
"key" names the values section in messages (default leaderElection).
Use: include "ha-lib.validateLeaseTiming" (dict "leaseDuration" "15s"
  "renewDeadline" "10s" "retryPeriod" "2s" "key" "leaderElection")
*/}}
{{- define "ha-lib.validateLeaseTiming" -}}
{{- $key := default "leaderElection" .key }}
{{- $ms := dict }}
{{- range $k := list "leaseDuration" "renewDeadline" "retryPeriod" }}
{{- with get $ $k }}
{{- $_ := set $ms $k (int64 (include "ha-lib.durationMs" (list (printf "%s.%s" $key $k) .))) }}
{{- end }}
{{- end }}
{{- if and (hasKey $ms "leaseDuration") (hasKey $ms "renewDeadline") (le $ms.leaseDuration $ms.renewDeadline) }}
{{- fail (printf "%s.renewDeadline: %s must be shorter than %s.leaseDuration (%s)" $key .renewDeadline $key .leaseDuration) }}
{{- end }}
{{- /* client-go's expression exactly, as timing.Lease.Validate states it:
renewDeadline <= time.Duration(JitterFactor * float64(retryPeriod)), in nanoseconds with the same float product
(tests/render/timing_test.go checks the chart and the Go function agree). */}}
{{- if and (hasKey $ms "renewDeadline") (hasKey $ms "retryPeriod") (le (mul $ms.renewDeadline 1000000) (int64 (mulf 1.2 (mul $ms.retryPeriod 1000000)))) }}
{{- fail (printf "%s.retryPeriod: %s must be shorter than %s.renewDeadline (%s) divided by 1.2, client-go's jitter factor" $key .retryPeriod $key .renewDeadline) }}
{{- end }}
{{- end }}

{{/*
ha-lib.durationMs converts a positive Go duration with one unit (500ms,
15s, 1m, 1h) to milliseconds, failing with a message naming "key".
Use: include "ha-lib.durationMs" (list "key" value).
*/}}
{{- define "ha-lib.durationMs" -}}
{{- $key := index . 0 }}
{{- $d := toString (index . 1) }}
{{- if not (regexMatch "^[0-9]+(ms|s|m|h)$" $d) }}
{{- fail (printf "%s: %q is not a duration like 500ms, 15s or 1m" $key $d) }}
{{- end }}
{{- $n := regexFind "^[0-9]+" $d | int64 }}
{{- if eq $n 0 }}
{{- fail (printf "%s: %q must be longer than zero" $key $d) }}
{{- end }}
{{- $unit := trimPrefix (regexFind "^[0-9]+" $d) $d }}
{{- $scale := get (dict "ms" 1 "s" 1000 "m" 60000 "h" 3600000) $unit }}
{{- mul $n $scale }}
{{- end }}
