#!/usr/bin/env bash
# Renders the kustomize base and validates every resource against the
# Kubernetes OpenAPI schemas, offline: kubernetes-validate (PyPI) bundles the
# schemas of each Kubernetes release, so no cluster and no download of
# schemas at run time is needed.
#
#   bash deploy/kubernetes/validate.sh      # from anywhere; exit 0 = valid
#
# Installs kubernetes-validate into a venv under target/ when missing.
# Strict mode rejects unknown fields (a misspelt key would otherwise be
# dropped by the API server without a word); a deliberately broken copy is
# checked too, so a validator that accepts everything cannot pass.
#
# Settings (environment): K8S_VERSIONS (default "1.29.0 1.37.0", the oldest
# and newest releases checked), VENV (default target/validate-venv).
set -euo pipefail

cd "$(dirname "$0")/../.."
DIR=deploy/kubernetes
K8S_VERSIONS=${K8S_VERSIONS:-1.29.0 1.37.0}
VENV=${VENV:-target/validate-venv}
VALIDATOR_VERSION=1.37.0
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

if command -v kubectl >/dev/null; then
    kubectl kustomize "$DIR" >"$OUT/rendered.yaml"
    echo "rendered with kubectl kustomize ($(kubectl version --client 2>/dev/null | grep -i kustomize || true))"
elif command -v kustomize >/dev/null; then
    kustomize build "$DIR" >"$OUT/rendered.yaml"
    echo "rendered with kustomize build"
else
    echo "neither kubectl nor kustomize found" >&2
    exit 2
fi
grep '^kind:' "$OUT/rendered.yaml" | sed 's/^/  /'

KV=$VENV/bin/kubernetes-validate
if [ ! -x "$KV" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet "kubernetes-validate==$VALIDATOR_VERSION"
fi
echo "validator: kubernetes-validate $("$KV" --version)"

for v in $K8S_VERSIONS; do
    "$KV" --strict --quiet -k "$v" "$OUT/rendered.yaml" "$DIR/secret.example.yaml"
    echo "valid against Kubernetes $v (strict): rendered base + secret.example.yaml"
done

# The self-test: an unknown field must be refused.
sed 's/^  minAvailable: 1$/  minAvailable: 1\n  maxAvailabel: 1/' "$OUT/rendered.yaml" >"$OUT/broken.yaml"
grep -q maxAvailabel "$OUT/broken.yaml"
if "$KV" --strict --quiet "$OUT/broken.yaml" >/dev/null 2>&1; then
    echo "the validator accepted an unknown field: it is not checking" >&2
    exit 1
fi
echo "self-test: a misspelt field is rejected"
echo "PASS"
