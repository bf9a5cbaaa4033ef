#!/usr/bin/env bash
# Prepare what bench/device.sh needs on a GPU machine that cannot fetch anything: the Python
# wheels framefarm needs beyond that machine's image (.whl/, for its Python 3.12) and the GL
# loader packages (.gl/). Both folders are git-ignored; the device tool carries them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .whl .gl
platforms=()
for n in 17 27 28 31 34 35; do platforms+=(--platform "manylinux_2_${n}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux1_x86_64)
# Not in the machine's image (device/KINDS.md lists what is): these and their own needs.
wheels=(moderngl glcontext dramatiq pika pydantic pydantic-core pydantic-settings python-dotenv
  fpng starlette uvicorn minio argon2-cffi argon2-cffi-bindings pycryptodome typing-inspection
  annotated-types)
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --implementation cp "${platforms[@]}" -d .whl "${wheels[@]}"
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
mkdir -p /tmp/amd64/partial
# shellcheck disable=SC2086
apt-get $o update -qq
# shellcheck disable=SC2086
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
du -sh .whl .gl
