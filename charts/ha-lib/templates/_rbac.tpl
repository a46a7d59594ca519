{{/*
ha-lib.leaderElectionRole is the least-privilege Role client-go's Lease lock
needs, in the Lease's namespace only: create (RBAC cannot restrict create by
name) and get/update/patch on the one Lease by resourceNames.
Use:
  include "ha-lib.leaderElectionRole" (dict
    "name" "my-op-leader-election" "namespace" .Release.Namespace
    "leaseName" "my-op-leader" "labels" (include "my.labels" .)
    "events" true)
"labels" is a YAML string or a map; "events" (default true) adds create/patch
on Events, which client-go's event recorder uses to announce a new leader.
*/}}
{{- define "ha-lib.leaderElectionRole" -}}
{{- if not .leaseName }}{{ fail "ha-lib.leaderElectionRole: leaseName is required" }}{{ end -}}
# Least privilege for client-go's Lease lock, in the Lease's namespace only.
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  {{- include "ha-lib.labels" .labels | nindent 2 }}
rules:
  # RBAC cannot restrict create by name; the binary creates the Lease when
  # the chart does not render it.
  - apiGroups: ["coordination.k8s.io"]
    resources: ["leases"]
    verbs: ["create"]
  - apiGroups: ["coordination.k8s.io"]
    resources: ["leases"]
    resourceNames: [{{ .leaseName | quote }}]
    verbs: ["get", "update", "patch"]
  {{- if dig "events" true . }}
  - apiGroups: [""]
    resources: ["events"]
    verbs: ["create", "patch"]
  {{- end }}
{{- end }}

{{/*
ha-lib.leaderElectionRoleBinding binds the Role to the workload's
ServiceAccount.
Use:
  include "ha-lib.leaderElectionRoleBinding" (dict
    "name" "my-op-leader-election" "namespace" .Release.Namespace
    "roleName" "my-op-leader-election" "labels" (include "my.labels" .)
    "serviceAccountName" "my-op" "serviceAccountNamespace" .Release.Namespace)
"roleName" defaults to "name"; "serviceAccountNamespace" to "namespace".
*/}}
{{- define "ha-lib.leaderElectionRoleBinding" -}}
{{- if not .serviceAccountName }}{{ fail "ha-lib.leaderElectionRoleBinding: serviceAccountName is required" }}{{ end -}}
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ .name }}
  namespace: {{ .namespace }}
  {{- include "ha-lib.labels" .labels | nindent 2 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ default .name .roleName }}
subjects:
  - kind: ServiceAccount
    name: {{ .serviceAccountName }}
    namespace: {{ default .namespace .serviceAccountNamespace }}
{{- end }}

{{/*
ha-lib.labels renders a labels: block from a YAML string or a map; nothing
when empty.
*/}}
{{- define "ha-lib.labels" -}}
{{- if kindIs "string" . }}{{ with . }}labels:{{ . | nindent 2 }}{{ end }}{{ else if . }}labels:{{ toYaml . | nindent 2 }}{{ end }}
{{- end }}
