{{/* Chart name, truncated to the 63 characters of a label value. */}}
{{- define "warren.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name appended unless it already contains it. */}}
{{- define "warren.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "warren.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "warren.selectorLabels" -}}
app.kubernetes.io/name: {{ include "warren.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "warren.labels" -}}
helm.sh/chart: {{ include "warren.chart" . }}
{{ include "warren.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.extraLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{- define "warren.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "warren.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The Secret that `saslPasswordKey`s refer to. */}}
{{- define "warren.secretName" -}}
{{- default (include "warren.fullname" .) .Values.secret.existingSecret }}
{{- end }}

{{/* The port of config.http.listen ("0.0.0.0:9753", "[::]:9753"). */}}
{{- define "warren.port" -}}
{{- $listen := toString (dig "http" "listen" "0.0.0.0:9753" .Values.config) }}
{{- $port := regexFind "[0-9]+$" $listen }}
{{- if not $port }}
{{- fail (printf "config.http.listen %q has no port" $listen) }}
{{- end }}
{{- $port }}
{{- end }}

{{/* The environment variable that sets client."sasl.password" of the cluster at index `.`
     (README "Environment overrides"). By index, not by name: the chart knows each cluster's
     position, and an index can neither be ambiguous (`prod-eu` and `prod.eu` select alike) nor
     be mistaken for another cluster (a cluster named `0`). */}}
{{- define "warren.saslPasswordEnv" -}}
{{- printf "WARREN_CLUSTERS__%d__CLIENT__SASL_PASSWORD" (int .) }}
{{- end }}

{{/* Turns whole-number floats into integers, in place, through maps and lists: Helm reads every
     number of a values file as a float, and toToml would write `points = 10.0`, which warren
     refuses for an integer key. Fractions (minimum_complete = 0.5) stay floats. */}}
{{- define "warren.integers" -}}
{{- if kindIs "map" . }}
{{- $map := . }}
{{- range $key, $value := $map }}
{{- if and (kindIs "float64" $value) (eq $value (floor $value)) }}
{{- $_ := set $map $key (int64 $value) }}
{{- else }}
{{- include "warren.integers" $value }}
{{- end }}
{{- end }}
{{- else if kindIs "slice" . }}
{{- range . }}
{{- include "warren.integers" . }}
{{- end }}
{{- end }}
{{- end }}

{{/* warren.toml: .Values.config plus the clusters without the chart's own keys. */}}
{{- define "warren.toml" -}}
{{- if not .Values.clusters }}
{{- fail "clusters: at least one cluster is required (name and bootstrap_servers)" }}
{{- end }}
{{- $clusters := list }}
{{- range .Values.clusters }}
{{- if not .name }}
{{- fail "clusters[]: every cluster needs a name" }}
{{- end }}
{{- $clusters = append $clusters (omit (deepCopy .) "saslPasswordKey") }}
{{- end }}
{{- $config := deepCopy (default dict .Values.config) }}
{{- $_ := set $config "clusters" $clusters }}
{{- include "warren.integers" $config }}
{{- toToml $config }}
{{- end }}
