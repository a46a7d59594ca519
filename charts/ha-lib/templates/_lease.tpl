{{/*
ha-lib.lease is the leader-election Lease, created before any replica
elects. It has no spec: the holder fields belong to the elected replica, so
`helm upgrade` never touches them. "keep" (default true) annotates it
helm.sh/resource-policy: keep, so `helm uninstall` does not delete a Lease a
replica may still hold while it shuts down.
Use:
  include "ha-lib.lease" (dict "name" "my-op-leader"
    "namespace" .Release.Namespace "labels" (include "my.labels" .))
*/}}
{{- define "ha-lib.lease" -}}
# The Lease exists before any replica elects. It has no spec: the holder
# fields belong to the elected replica, and `helm upgrade` never touches them.
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  {{- if dig "keep" true . }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
  {{- include "ha-lib.labels" .labels | nindent 2 }}
{{- end }}
