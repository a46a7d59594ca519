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
{{- include "ha-lib.validateLeaseTiming" (dict "key" "leaderElection" "leaseDuration" $le.leaseDuration "renewDeadline" $le.renewDeadline "retryPeriod" $le.retryPeriod) }}
{{- $renew := int64 (include "ha-lib.durationMs" (list "leaderElection.renewDeadline" $le.renewDeadline)) }}
{{- /* The binary's floor (leader.MinLeaseMargin, 1s): the margin bounds how late a leader's last write may land. */}}
{{- $lease := int64 (include "ha-lib.durationMs" (list "leaderElection.leaseDuration" $le.leaseDuration)) }}
{{- if lt (sub $lease $renew) 1000 }}
{{- fail (printf "leaderElection.leaseDuration: %s must exceed leaderElection.renewDeadline (%s) by at least 1s (the margin within which a leader's last write lands before another replica may lead)" $le.leaseDuration $le.renewDeadline) }}
{{- end }}
{{- $grace := include "primus.terminationGracePeriodSeconds" . | int64 }}
{{- $preStop := include "primus.shutdownDelaySeconds" . | int64 }}
{{- if lt (mul $grace 1000) (add (mul $preStop 1000) $renew) }}
{{- fail (printf "terminationGracePeriodSeconds: %d s is shorter than shutdownDelaySeconds (%d s) plus leaderElection.renewDeadline (%s); a stopping leader needs time to release its Lease" $grace $preStop $le.renewDeadline) }}
{{- end }}
{{- $stopTimeout := include "primus.shutdownTimeoutSeconds" . | int64 }}
{{- if lt $stopTimeout 1 }}
{{- fail (printf "terminationGracePeriodSeconds: %d s leaves the controllers no time to stop (%d s) after shutdownDelaySeconds (%d s) and the Lease release (max(leaderElection.renewDeadline/2, 1s)); raise it" $grace $stopTimeout $preStop) }}
{{- end }}
{{- include "primus.validateLeaseMove" (dict "root" . "le" $le "strategy" $strategyType) }}
{{- $pdb := include "primus.pdb" . | fromYaml }}
{{- include "ha-lib.validatePodDisruptionBudget" (dict "key" "podDisruptionBudget" "replicas" (ternary $replicas 1 $pdb.enabled) "minAvailable" $pdb.minAvailable "maxUnavailable" $pdb.maxUnavailable) }}
{{- $mode := default "soft" .Values.podAntiAffinity }}
{{- if not (has $mode (list "soft" "hard")) }}
{{- fail (printf "podAntiAffinity: %q must be soft or hard" $mode) }}
{{- end }}
{{- include "primus.validateManagementAPI" . }}
{{- end }}

{{/*
primus.validateManagementAPI refuses an APIService the aggregator could not
trust: the replicas must serve a certificate from a Secret (the self-signed
one each replica makes at start differs per replica), and the APIService
must carry, or have injected, the CA that signed it; unless, on a
development cluster, insecureSkipTLSVerify asks the aggregator not to
verify, which excludes any CA (the aggregator refuses both).
*/}}
{{- define "primus.validateManagementAPI" -}}
{{- $mgmt := .Values.managementAPI | default dict }}
{{- $apiService := dig "apiService" dict $mgmt }}
{{- if not (dig "enabled" true (.Values.api | default dict)) }}
{{- if dig "enabled" false $mgmt }}
{{- fail "managementAPI.enabled registers the API with the aggregator, and api.enabled=false turns the API off: set one of them" }}
{{- end }}
{{- if dig "audit" "enabled" false $mgmt }}
{{- fail "managementAPI.audit.enabled audits the API's requests, and api.enabled=false turns the API off: set one of them" }}
{{- end }}
{{- end }}
{{- if and (dig "insecureSkipTLSVerify" false $apiService) (or (dig "caBundle" "" $apiService) (hasKey (dig "annotations" dict $apiService) "cert-manager.io/inject-ca-from")) }}
{{- fail "managementAPI.apiService.insecureSkipTLSVerify and managementAPI.apiService.caBundle (or its cert-manager.io/inject-ca-from annotation): set one of them, the aggregator refuses an APIService with both" }}
{{- end }}
{{- if and (dig "enabled" true (.Values.api | default dict)) (dig "enabled" false $mgmt) (dig "create" true $apiService) (not (dig "insecureSkipTLSVerify" false $apiService)) }}
{{- if not (dig "tlsSecretName" "" (.Values.api | default dict)) }}
{{- fail "managementAPI.apiService.create needs api.tlsSecretName: the aggregator verifies the replicas' certificate, so they must all serve one from a Secret (or, on a development cluster only, managementAPI.apiService.insecureSkipTLSVerify=true)" }}
{{- end }}
{{- if and (not (dig "caBundle" "" $apiService)) (not (hasKey (dig "annotations" dict $apiService) "cert-manager.io/inject-ca-from")) }}
{{- fail "managementAPI.apiService.caBundle: set the PEM CA that signed api.tlsSecretName's certificate (or the annotation cert-manager.io/inject-ca-from, to have cert-manager inject it)" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
primus.validateLeaseMove refuses an upgrade that moves the Lease (a new
leaderElection.leaseName or namespace, or a fullnameOverride that changes the
default name) under a rolling update: the new pods would elect on a new,
empty Lease while the old leader keeps leading on the old one. It reads the
release's live Deployments with lookup, which is empty under helm template
and --dry-run=client, so rendering alone never fails here.
*/}}
{{- define "primus.validateLeaseMove" -}}
{{- $root := .root }}
{{- if and .le.enabled (eq .strategy "RollingUpdate") }}
{{- $live := lookup "apps/v1" "Deployment" $root.Release.Namespace "" }}
{{- range $d := (dig "items" list $live) }}
{{- $owner := dig "metadata" "annotations" "meta.helm.sh/release-name" "" $d }}
{{- $replicas := int (dig "spec" "replicas" 1 $d) }}
{{- if and (eq $owner $root.Release.Name) (gt $replicas 0) }}
{{- $id := "" }}
{{- $ns := "" }}
{{- range $c := (dig "spec" "template" "spec" "containers" list $d) }}
{{- range $a := (dig "args" list $c) }}
{{- if hasPrefix "--leader-election-id=" $a }}{{ $id = trimPrefix "--leader-election-id=" $a }}{{ end }}
{{- if hasPrefix "--leader-election-namespace=" $a }}{{ $ns = trimPrefix "--leader-election-namespace=" $a }}{{ end }}
{{- end }}
{{- end }}
{{- if and $id (or (ne $id $.le.leaseName) (ne $ns $.le.namespace)) }}
{{- fail (printf "leaderElection.leaseName: this upgrade moves the Lease from %s/%s to %s/%s while Deployment %s runs %d replica(s) with strategy RollingUpdate, so new pods would elect a second leader on the new Lease; upgrade once with --set strategy.type=Recreate, or scale Deployment %s to 0 first (kubectl scale -n %s deployment/%s --replicas=0), then upgrade" $ns $id $.le.namespace $.le.leaseName $d.metadata.name $replicas $d.metadata.name $root.Release.Namespace $d.metadata.name) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
