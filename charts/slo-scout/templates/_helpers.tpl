{{/* Names */}}
{{- define "slo-scout.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "slo-scout.fullname" -}}
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

{{- define "slo-scout.namespace" -}}
{{- default .Release.Namespace .Values.namespaceOverride -}}
{{- end -}}

{{- define "slo-scout.dev" -}}
{{- if eq .Values.global.environment "dev" -}}true{{- end -}}
{{- end -}}

{{- define "slo-scout.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "slo-scout.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: slo-scout
slo-scout.io/environment: {{ .Values.global.environment }}
{{- end -}}

{{/* Selector labels: (dict "root" $ "component" "backend") */}}
{{- define "slo-scout.selectorLabels" -}}
app.kubernetes.io/name: {{ include "slo-scout.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "slo-scout.image" -}}
{{- $reg := .Values.global.imageRegistry -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- if $reg -}}{{ printf "%s/%s:%s" $reg .Values.image.repository $tag }}{{- else -}}{{ printf "%s:%s" .Values.image.repository $tag }}{{- end -}}
{{- end -}}

{{- define "slo-scout.thirdPartyImage" -}}
{{- $reg := .root.Values.global.imageRegistry -}}
{{- $img := .image -}}
{{- if or (hasPrefix "ghcr.io/" $img) (hasPrefix "quay.io/" $img) (not $reg) -}}{{ $img }}{{- else -}}{{ printf "%s/%s" $reg $img }}{{- end -}}
{{- end -}}

{{- define "slo-scout.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}{{ include "slo-scout.fullname" . }}{{- else -}}default{{- end -}}
{{- end -}}

{{/* Restricted Pod Security Standard: container securityContext */}}
{{- define "slo-scout.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "slo-scout.imagePullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The registry rendered from functions/index.ts */}}
{{- define "slo-scout.registry" -}}
{{- .Files.Get "files/registry.json" -}}
{{- end -}}

{{/* Secret names */}}
{{- define "slo-scout.dbSecret" -}}
{{- if .Values.timescaledb.enabled -}}{{ include "slo-scout.fullname" . }}-timescaledb-app{{- else if or .Values.secrets.create (eq .Values.global.environment "dev") -}}{{ include "slo-scout.fullname" . }}-db-credentials{{- else -}}{{ .Values.secrets.db.existingSecret }}{{- end -}}
{{- end -}}
{{- define "slo-scout.minioSecret" -}}
{{- if or .Values.secrets.create (eq .Values.global.environment "dev") -}}{{ include "slo-scout.fullname" . }}-minio-credentials{{- else -}}{{ .Values.secrets.minio.existingSecret }}{{- end -}}
{{- end -}}
{{- define "slo-scout.jwtSecret" -}}
{{- if or .Values.secrets.create (eq .Values.global.environment "dev") -}}{{ include "slo-scout.fullname" . }}-jwt-secret{{- else -}}{{ .Values.secrets.jwt.existingSecret }}{{- end -}}
{{- end -}}
{{- define "slo-scout.grafanaSecret" -}}
{{- if or .Values.secrets.create (eq .Values.global.environment "dev") -}}{{ include "slo-scout.fullname" . }}-grafana-admin{{- else -}}{{ .Values.secrets.grafana.existingSecret }}{{- end -}}
{{- end -}}
{{- define "slo-scout.generateSecrets" -}}
{{- if and (or .Values.secrets.create (eq .Values.global.environment "dev")) (not .Values.externalSecrets.enabled) -}}true{{- end -}}
{{- end -}}

{{/* Connection facts */}}
{{- define "slo-scout.kafkaBrokers" -}}
{{- if .Values.kafka.enabled -}}{{ include "slo-scout.fullname" . }}-kafka-bootstrap.{{ include "slo-scout.namespace" . }}.svc:9092{{- else -}}{{ required "externalKafka.bootstrapServers is required when kafka.enabled=false" .Values.externalKafka.bootstrapServers }}{{- end -}}
{{- end -}}
{{- define "slo-scout.s3Endpoint" -}}
{{- if .Values.minio.enabled -}}http://minio.{{ include "slo-scout.namespace" . }}.svc:80{{- else -}}{{ .Values.externalS3.endpoint }}{{- end -}}
{{- end -}}
{{- define "slo-scout.s3Bucket" -}}
{{- if .Values.minio.enabled -}}{{ .Values.minio.bucket }}{{- else -}}{{ .Values.externalS3.bucket }}{{- end -}}
{{- end -}}
{{- define "slo-scout.milvusAddress" -}}
{{- if .Values.milvus.enabled -}}{{ include "slo-scout.fullname" . }}-milvus:19530{{- else -}}{{ .Values.externalMilvus.address }}{{- end -}}
{{- end -}}

{{/*
Environment for a component. Args: (dict "root" $ "vars" (list "SLO_SCOUT_...") "logLevel" "info")
Only the variables a function reads (registry env) are set; credentials come from Secrets.
*/}}
{{- define "slo-scout.env" -}}
{{- $root := .root -}}
{{- $v := $root.Values -}}
{{- range .vars }}
{{- if eq . "SLO_SCOUT_LOG_LEVEL" }}
- name: SLO_SCOUT_LOG_LEVEL
  value: {{ default $v.config.logLevel $.logLevel | quote }}
{{- else if eq . "SLO_SCOUT_TENANT" }}
- name: SLO_SCOUT_TENANT
  value: {{ $v.config.tenant | quote }}
{{- else if eq . "SLO_SCOUT_KAFKA_BROKERS" }}
- name: SLO_SCOUT_KAFKA_BROKERS
  value: {{ include "slo-scout.kafkaBrokers" $root | quote }}
{{- else if eq . "SLO_SCOUT_HOST" }}
- name: SLO_SCOUT_HOST
  value: "0.0.0.0"
{{- else if eq . "SLO_SCOUT_DATABASE_URL" }}
- name: SLO_SCOUT_DB_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "slo-scout.dbSecret" $root }}
      key: password
{{- if $v.timescaledb.enabled }}
- name: SLO_SCOUT_DATABASE_URL
  value: {{ printf "postgresql://%s:$(SLO_SCOUT_DB_PASSWORD)@%s-timescaledb-rw:5432/%s" $v.timescaledb.username (include "slo-scout.fullname" $root) $v.timescaledb.database | quote }}
{{- else }}
- name: SLO_SCOUT_DATABASE_URL
  value: {{ printf "postgresql://%s:$(SLO_SCOUT_DB_PASSWORD)@%s:%v/%s?sslmode=%s" $v.externalDatabase.username (required "externalDatabase.host is required when timescaledb.enabled=false" $v.externalDatabase.host) $v.externalDatabase.port $v.externalDatabase.database $v.externalDatabase.sslmode | quote }}
{{- end }}
{{- else if eq . "SLO_SCOUT_S3_BUCKET" }}
- name: SLO_SCOUT_S3_BUCKET
  value: {{ include "slo-scout.s3Bucket" $root | quote }}
{{- else if eq . "SLO_SCOUT_S3_ENDPOINT" }}
{{- with include "slo-scout.s3Endpoint" $root }}
- name: SLO_SCOUT_S3_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- else if eq . "SLO_SCOUT_S3_REGION" }}
- name: SLO_SCOUT_S3_REGION
  value: {{ $v.externalS3.region | quote }}
{{- else if eq . "SLO_SCOUT_S3_ACCESS_KEY_ID" }}
- name: SLO_SCOUT_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ include "slo-scout.minioSecret" $root }}
      key: accessKey
{{- else if eq . "SLO_SCOUT_S3_SECRET_ACCESS_KEY" }}
- name: SLO_SCOUT_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "slo-scout.minioSecret" $root }}
      key: secretKey
{{- else if eq . "SLO_SCOUT_MILVUS_ADDRESS" }}
{{- with include "slo-scout.milvusAddress" $root }}
- name: SLO_SCOUT_MILVUS_ADDRESS
  value: {{ . | quote }}
{{- end }}
{{- else if eq . "SLO_SCOUT_MILVUS_TOKEN" }}
{{- with $v.secrets.milvus.existingSecret }}
- name: SLO_SCOUT_MILVUS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: token
{{- end }}
{{- else if eq . "SLO_SCOUT_MODEL_DIR" }}
- name: SLO_SCOUT_MODEL_DIR
  value: /models
{{- else if eq . "SLO_SCOUT_MODEL_ID" }}
- name: SLO_SCOUT_MODEL_ID
  value: {{ printf "Xenova/%s" $v.backend.llm.model | quote }}
{{- else if eq . "SLO_SCOUT_ALLOW_MODEL_DOWNLOAD" }}
- name: SLO_SCOUT_ALLOW_MODEL_DOWNLOAD
  value: {{ ternary "true" "false" (eq $v.backend.llm.provider "openai") | quote }}
{{- else if eq . "SLO_SCOUT_API_PORT" }}
- name: SLO_SCOUT_API_PORT
  value: {{ $v.backend.port | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Effective settings of a function: (dict "root" $ "fn" <registry entry>) -> YAML
enabled, minScale, maxScale, concurrency, consumers, resources
*/}}
{{- define "slo-scout.fnSettings" -}}
{{- $v := .root.Values -}}
{{- $fn := .fn -}}
{{- $o := get $v.functions $fn.name | default dict -}}
{{- $stream := has $fn.name (list "fingerprint" "rollup" "embed") -}}
{{- $enabled := true -}}
{{- if and (eq $fn.kind "event") (not $v.flink.jobmanager.enabled) }}{{ $enabled = false }}{{ end -}}
{{- if and (eq $fn.name "fingerprint") (not $v.flink.jobs.fingerprinting.enabled) }}{{ $enabled = false }}{{ end -}}
{{- if and (eq $fn.name "embed") (not $v.flink.jobs.embedding.enabled) }}{{ $enabled = false }}{{ end -}}
{{- if hasKey $o "enabled" }}{{ $enabled = $o.enabled }}{{ end -}}
{{- $min := int $fn.scaling.minScale -}}
{{- $max := int $fn.scaling.maxScale -}}
{{- $res := dict "requests" (dict "cpu" "100m" "memory" "256Mi") "limits" (dict "memory" (ternary "2Gi" "512Mi" (has "embedder" $fn.needs))) -}}
{{- if $stream }}
{{- $min = max $min (int $v.flink.taskmanager.replicaCount) -}}
{{- $max = max $min (int $v.flink.taskmanager.autoscaling.maxReplicas) -}}
{{- $res = $v.flink.taskmanager.resources -}}
{{- end -}}
{{- $consumers := 1 -}}
{{- if eq $fn.name "fingerprint" }}{{ $consumers = int $v.flink.jobs.fingerprinting.config.parallelism }}{{ end -}}
{{- if hasKey $o "minScale" }}{{ $min = int $o.minScale }}{{ end -}}
{{- if hasKey $o "maxScale" }}{{ $max = int $o.maxScale }}{{ end -}}
{{- if hasKey $o "consumers" }}{{ $consumers = int $o.consumers }}{{ end -}}
{{- if hasKey $o "resources" }}{{ $res = $o.resources }}{{ end -}}
enabled: {{ $enabled }}
minScale: {{ $min }}
maxScale: {{ $max }}
concurrency: {{ int (default $fn.scaling.concurrency $o.concurrency) }}
consumers: {{ $consumers }}
resources:
{{ toYaml $res | indent 2 }}
{{- end -}}

{{/* Keep a generated secret value across upgrades: (dict "ns" "name" "key" "len") */}}
{{- define "slo-scout.keep" -}}
{{- $s := lookup "v1" "Secret" .ns .name -}}
{{- if and $s $s.data (hasKey $s.data .key) -}}{{ index $s.data .key | b64dec }}{{- else -}}{{ randAlphaNum .len }}{{- end -}}
{{- end -}}
