{{/* Name of the trust plane's objects: <release>-server when the release
name says signet (release "signet": signet-server), else
<release>-signet-server. */}}
{{- define "signet.server.name" -}}
{{- if contains "signet" .Release.Name -}}
{{- printf "%s-server" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-signet-server" .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The server's key Secret. */}}
{{- define "signet.server.keysSecret" -}}
{{- default (printf "%s-keys" (include "signet.server.name" .)) .Values.server.keys.existingSecret -}}
{{- end -}}

{{/* The in-cluster URL of the server's Service. */}}
{{- define "signet.server.serviceURL" -}}
{{- printf "http://%s.%s.svc:%v" (include "signet.server.name" .) .Release.Namespace .Values.server.port -}}
{{- end -}}

{{/* The webhook's objects carry fixed names: `signet admission serve`
patches the caBundle of the webhook configurations named signet-admission,
and its RBAC names them. One webhook per cluster. */}}
{{- define "signet.admission.name" -}}signet-admission{{- end -}}

{{- define "signet.labels" -}}
app.kubernetes.io/part-of: signet
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "signet.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ default .Chart.AppVersion .Values.image.tag }}
{{- end -}}
{{- end -}}

{{/* Pod and container security context of the restricted Pod Security
Standard: non-root, no privilege escalation, no capabilities, the runtime's
default seccomp profile, read-only root filesystem. */}}
{{- define "signet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "signet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The service account token, CA and namespace in-cluster clients read,
projected explicitly (automountServiceAccountToken is off) so that only the
containers that talk to the API server get them. */}}
{{- define "signet.apiAccessVolume" -}}
- name: kube-api-access
  projected:
    defaultMode: 0444
    sources:
      - serviceAccountToken:
          path: token
          expirationSeconds: 3607
      - configMap:
          name: kube-root-ca.crt
          items:
            - key: ca.crt
              path: ca.crt
      - downwardAPI:
          items:
            - path: namespace
              fieldRef:
                fieldPath: metadata.namespace
{{- end -}}

{{- define "signet.apiAccessMount" -}}
- name: kube-api-access
  mountPath: /var/run/secrets/kubernetes.io/serviceaccount
  readOnly: true
{{- end -}}
