#!/usr/bin/env bash
# Prepare, here, what scripts/device-check.sh installs on the GPU machine, which has no network
# (docs/gpu-lane.md): ddoctor built as a wheel, plus the wheels of the packages that machine's image lacks, for
# its Python, in .whl/ (git-ignored, carried with the run). Checks that nothing ddoctor needs is left out,
# then prints the exact device `run` call a session makes.
#
# Usage: scripts/device-prepare.sh
#   DDOCTOR_WHEELS=.whl           where the wheels go (its old wheels are removed: one version of each)
#   DDOCTOR_WHEEL_PY=3.12         the Python the downloaded wheels are for (the GPU machine's)
#   DDOCTOR_DEVICE_PACKAGES=...   the packages to download (default: those the GPU image lacks)
#   PYTHON=python3                the interpreter that builds and downloads
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WHEELS=${DDOCTOR_WHEELS:-$REPO/.whl}
PYV=${DDOCTOR_WHEEL_PY:-3.12}
PYTHON=${PYTHON:-python3}
# What ddoctor needs and the GPU image (Python 3.12, torch 2.11.0+cu130) does not hold (py-spy for the hang
# snapshot among them), and pathspec, which it
# holds in a version nobody has read (device-check.sh installs a carried wheel only where the image's is missing
# or too old).
read -r -a PACKAGES <<<"${DDOCTOR_DEVICE_PACKAGES-libcst hyperscan ftfy wcwidth pathspec py-spy}"
# ddoctor's requirements the image already has (the device tool's KINDS.md lists the image's packages).
PRESENT=(torch typer rich psutil nvidia-ml-py packaging pyyaml pathspec click typing-extensions shellingham
    markdown-it-py mdurl pygments)

mkdir -p "$WHEELS"
rm -f "$WHEELS"/*.whl
echo "building ddoctor's wheel into $WHEELS"
"$PYTHON" -m build --wheel --outdir "$WHEELS" "$REPO" >"$WHEELS/build.log" 2>&1 || {
    tail -n 30 "$WHEELS/build.log" >&2
    exit 1
}
if ((${#PACKAGES[@]})); then
    echo "downloading for Python $PYV (manylinux x86_64): ${PACKAGES[*]}"
    "$PYTHON" -m pip download --quiet --no-deps --only-binary=:all: --python-version "$PYV" --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d "$WHEELS" "${PACKAGES[@]}"
fi
"$PYTHON" "$REPO/scripts/device_lane.py" closure --wheels "$WHEELS" --python-version "$PYV" --present "${PRESENT[@]}"
du -ch "$WHEELS"/*.whl

cat <<'EOF'

The device run a session makes (its own device tool; the command reads the carried .whl/ folder):
  run(command='bash scripts/device-check.sh /tmp/ddoctor-gpu; rc=$?; tar -czf $OUT/ddoctor-gpu.tgz -C /tmp ddoctor-gpu; cp /tmp/ddoctor-gpu/device-check.log /tmp/ddoctor-gpu/summary.json $OUT/; exit $rc',
      carry=['.whl'], timeout_s=600)
Then unpack ddoctor-gpu.tgz and follow docs/gpu-lane.md ("After the run").
EOF
