#!/usr/bin/env bash
# image-sign.sh REF DIR — sign signet's own image with signet: a keyless
# signature on the index and on each platform image, the CycloneDX SBOM
# (DIR/sbom.cdx.json) and the SLSA v1 provenance (DIR/provenance.json) as
# attestations on the index. `make image REGISTRY=… SIGN=1` runs it.
#
# The signing identity comes from the usual token sources of `signet sign`
# (--identity-token / SIGSTORE_ID_TOKEN, CI ambient credentials) or, against a
# `signet server --dev`, from its dev issuer as $SIGNET_DEV_IDENTITY.
# Set SIGNET_SERVER; INSECURE_REGISTRY=1 talks plain HTTP to the registry.
set -euo pipefail
ref=${1:?usage: image-sign.sh REF DIR}
dir=${2:?usage: image-sign.sh REF DIR}
signet=${SIGNET:-bin/signet}
: "${SIGNET_SERVER:?set SIGNET_SERVER to the signet server to sign with}"
args=(--server "$SIGNET_SERVER")
[ -n "${SIGNET_DEV_IDENTITY:-}" ] && args+=(--dev-identity "$SIGNET_DEV_IDENTITY")
[ -n "${INSECURE_REGISTRY:-}" ] && args+=(--allow-insecure-registry)

"$signet" sign "$ref" --recursive "${args[@]}"
"$signet" attest "$ref" --type cyclonedx --predicate "$dir/sbom.cdx.json" "${args[@]}"
"$signet" attest "$ref" --type slsaprovenance1 --predicate "$dir/provenance.json" "${args[@]}"
echo "signed and attested $ref"
