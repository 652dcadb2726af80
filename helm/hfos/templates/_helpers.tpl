{{/* Names, labels and the pieces every workload shares. */}}

{{- define "hfos.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "hfos.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "hfos.selectorLabels" -}}
app.kubernetes.io/name: {{ include "hfos.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "hfos.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "hfos.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: hfos
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "hfos.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The long-running parts, in one list: adding a Deployment (the position monitor, the
supervisor) is one entry here and one block in values.yaml. Each entry: name, the values
block, the hfos arguments, and whether it serves the metrics port (/metrics, /healthz,
/readyz) that the probes and the ServiceMonitor use.
*/}}
{{- define "hfos.components" -}}
{{- $v := .Values -}}
{{- if $v.worker.enabled }}
- name: worker
  values: {{ toJson $v.worker }}
  metrics: true
  args: {{ toJson (list "worker" "--store" $v.worker.store "--loglevel" $v.worker.logLevel) }}
{{- end }}
{{- if $v.executor.enabled }}
- name: executor
  values: {{ toJson $v.executor }}
  metrics: true
  args: {{ toJson (list "executor" "run" "--heartbeat-bound-ms" (toString $v.executor.heartbeatBoundMs) "--barrier-timeout" (toString $v.executor.barrierTimeoutSeconds) "--loglevel" $v.executor.logLevel) }}
{{- end }}
{{- if $v.monitor.enabled }}
- name: monitor
  values: {{ toJson $v.monitor }}
  metrics: true
  args: {{ toJson (list "monitor" "run" "--model" $v.monitor.model "--threshold" (toString $v.monitor.threshold) "--loglevel" $v.monitor.logLevel) }}
{{- end }}
{{- if $v.paper.enabled }}
{{- $x := $v.paper.exchange }}
{{- $args := list "exchange" "run" "--initial-balance" (toString $x.initialBalance) "--fee" (toString $x.fee) "--instance" "hfos-paper-exchange" "--loglevel" $x.logLevel }}
{{- range $x.accounts }}{{ $args = concat $args (list "--account" .) }}{{- end }}
- name: exchange
  values: {{ toJson (merge (dict "replicas" 1) $x) }}
  metrics: true
  args: {{ toJson $args }}
{{- $s := $v.paper.simulator }}
- name: simulator
  values: {{ toJson (merge (dict "replicas" 1) $s) }}
  metrics: false
  args: {{ toJson (list "simulate" "run" "--symbols" (join "," $s.symbols) "--accounts" (join "," $s.accounts) "--interval" (toString $s.intervalSeconds) "--volatility" (toString $s.volatility)) }}
{{- end }}
{{- end -}}

{{/*
Non-secret settings, as environment variables named exactly as services/settings.py
reads them (a test checks every name). The ConfigMap holds them for the Deployments; the
pre-install Job sets them inline, since hooks run before the ConfigMap exists.
*/}}
{{- define "hfos.settings" -}}
{{- $v := .Values -}}
KAFKA_BOOTSTRAP_SERVERS: {{ $v.kafka.bootstrapServers | quote }}
KAFKA_SECURITY_PROTOCOL: {{ $v.kafka.securityProtocol | quote }}
{{- if hasPrefix "SASL" $v.kafka.securityProtocol }}
KAFKA_SASL_MECHANISM: {{ $v.kafka.sasl.mechanism | quote }}
KAFKA_SASL_USERNAME: {{ $v.kafka.sasl.username | quote }}
{{- end }}
{{- if and (hasSuffix "SSL" $v.kafka.securityProtocol) $v.kafka.tls.existingSecret }}
KAFKA_SSL_CA_LOCATION: {{ printf "/etc/hfos/kafka-tls/%s" $v.kafka.tls.caKey | quote }}
{{- if $v.kafka.tls.certKey }}
KAFKA_SSL_CERTIFICATE_LOCATION: {{ printf "/etc/hfos/kafka-tls/%s" $v.kafka.tls.certKey | quote }}
KAFKA_SSL_KEY_LOCATION: {{ printf "/etc/hfos/kafka-tls/%s" $v.kafka.tls.keyKey | quote }}
{{- end }}
{{- end }}
SCHEMA_REGISTRY_URL: {{ $v.schemaRegistry.url | quote }}
{{- if $v.schemaRegistry.username }}
SCHEMA_REGISTRY_USERNAME: {{ $v.schemaRegistry.username | quote }}
{{- end }}
{{- if not $v.redis.existingSecret }}
REDIS_URL: {{ $v.redis.url | quote }}
{{- end }}
HFOS_ENV: {{ $v.settings.environment | quote }}
HFOS_TOPIC_PREFIX: {{ $v.settings.topicPrefix | quote }}
HFOS_REPLICATION_FACTOR: {{ $v.kafka.replicationFactor | quote }}
HFOS_METRICS_PORT: {{ $v.settings.metricsPort | quote }}
HFOS_WORKER_STALL_EXIT_SECONDS: {{ $v.worker.stallExitSeconds | quote }}
HFOS_WORKER_DATA_DIR: "/var/lib/hfos/worker"
HFOS_MODEL_ACK_TIMEOUT_SECONDS: {{ $v.settings.modelAckTimeoutSeconds | quote }}
{{- end -}}

{{/* Secrets: only references to Secrets that exist already (never a value). */}}
{{- define "hfos.secretEnv" -}}
{{- $v := .Values -}}
{{- if hasPrefix "SASL" $v.kafka.securityProtocol }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.passwordKey }}
{{- end }}
{{- if and (hasSuffix "SSL" $v.kafka.securityProtocol) $v.kafka.tls.existingSecret $v.kafka.tls.keyPasswordKey }}
- name: KAFKA_SSL_KEY_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.tls.existingSecret }}
      key: {{ $v.kafka.tls.keyPasswordKey }}
{{- end }}
{{- if $v.schemaRegistry.existingSecret }}
- name: SCHEMA_REGISTRY_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.schemaRegistry.existingSecret }}
      key: {{ $v.schemaRegistry.passwordKey }}
{{- end }}
{{- if $v.redis.existingSecret }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $v.redis.existingSecret }}
      key: {{ $v.redis.urlKey }}
{{- end }}
{{- end -}}

{{- define "hfos.tlsMounted" -}}
{{- if and (hasSuffix "SSL" .Values.kafka.securityProtocol) .Values.kafka.tls.existingSecret -}}true{{- end -}}
{{- end -}}

{{/* Volumes every pod has: /tmp, the worker's data dir, and the Kafka TLS files. */}}
{{- define "hfos.volumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
- name: data
  emptyDir:
    sizeLimit: {{ .Values.worker.dataSizeLimit }}
{{- if include "hfos.tlsMounted" . }}
- name: kafka-tls
  secret:
    secretName: {{ .Values.kafka.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{- define "hfos.volumeMounts" -}}
- name: tmp
  mountPath: /tmp
- name: data
  mountPath: /var/lib/hfos
{{- if include "hfos.tlsMounted" . }}
- name: kafka-tls
  mountPath: /etc/hfos/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "hfos.podSpecCommon" -}}
automountServiceAccountToken: false
{{- with .Values.serviceAccountName }}
serviceAccountName: {{ . }}
{{- end }}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end -}}

{{/* The Job's environment: the settings inline (hooks run before the ConfigMap exists). */}}
{{- define "hfos.jobEnv" -}}
{{- range $name, $value := include "hfos.settings" . | fromYaml }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- with include "hfos.secretEnv" . }}
{{- . }}
{{- end }}
{{- end -}}

{{- define "hfos.jobContainer" -}}
- name: {{ .name }}
  image: {{ include "hfos.image" .root }}
  imagePullPolicy: {{ .root.Values.image.pullPolicy }}
  args:
    {{- toYaml .args | nindent 4 }}
  env:
    {{- .env | nindent 4 }}
  securityContext:
    {{- toYaml .root.Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml .root.Values.provisioning.resources | nindent 4 }}
  volumeMounts:
    {{- include "hfos.volumeMounts" .root | nindent 4 }}
{{- end -}}
