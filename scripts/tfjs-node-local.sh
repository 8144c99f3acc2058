#!/usr/bin/env bash
# Installs the optional @tensorflow/tfjs-node without downloading libtensorflow: the library
# and its C headers are taken from a TensorFlow wheel (pip's tensorflow or tensorflow-cpu,
# e.g. from a local wheel mirror), laid out as tfjs-node's install script expects, served on
# 127.0.0.1 (an ephemeral port) for the duration of the command, and the binding is compiled
# from source against them (node-gyp with the local Node headers; no prebuilt download).
#
#   scripts/tfjs-node-local.sh [--wheel PATH] [command ...]     (default command: npm ci)
#   scripts/tfjs-node-local.sh bash .ci/run                    (CI with the optional package)
#
# Why this works (tfjs-node 4.22.0, scripts/install.js and scripts/deps-constants.js):
# - install.js downloads `${TFJS_NODE_BASE_URI}cpu-linux-x86_64-2.9.1.tar.gz` (http or https;
#   TFJS_NODE_BASE_URI, TFJS_NODE_CDN_STORAGE or their npm_config_ forms override the host;
#   a file: URL is not accepted) into node_modules/@tensorflow/tfjs-node/deps, unless
#   deps/lib/libtensorflow.so.2.9.1 exists already (it never does on a fresh install);
# - then `node-pre-gyp install --fallback-to-build`: the prebuilt binding is another download;
#   npm_config_build_from_source=true skips it and builds binding/*.cc with node-gyp against
#   deps/include and -ltensorflow -ltensorflow_framework (rpath $ORIGIN/../../deps/lib);
#   npm_config_nodedir points node-gyp at installed Node headers instead of downloading them.
# - The wheel's libtensorflow_cc.so.2 exports the whole C and eager C API the binding calls
#   (TF_*, TFE_*); it is installed under the names the binding links (libtensorflow.so*).
#   TensorFlow 2.21's C API is a superset of 2.9's for what tfjs-node uses (checked: builds,
#   loads, and agrees with the js backend in test/tfjs-backend.test.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
wheel=""
if [[ "${1:-}" == "--wheel" ]]; then wheel=$2; shift 2; fi
[[ $# -eq 0 ]] && set -- npm ci

work=$(mktemp -d)
server=""
cleanup() { [[ -n "$server" ]] && kill "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

if [[ -z "$wheel" ]]; then
  echo "* fetching a tensorflow-cpu wheel with pip (from its configured index or mirror)" >&2
  python3 -m pip download --no-deps --only-binary=:all: -d "$work/wheel" tensorflow-cpu >&2
  wheel=$(ls "$work"/wheel/*.whl | head -1)
fi
echo "* libtensorflow from $wheel" >&2
mkdir -p "$work/x" "$work/stage/lib" "$work/stage/include" "$work/serve"
unzip -q "$wheel" 'tensorflow/libtensorflow_cc.so.2' 'tensorflow/libtensorflow_framework.so.2' \
  'tensorflow/include/tensorflow/c/*' 'tensorflow/include/tensorflow/core/platform/*' \
  'tensorflow/include/tsl/*' 'tensorflow/include/xla/tsl/*' -d "$work/x"
mv "$work"/x/tensorflow/libtensorflow_cc.so.2 "$work"/x/tensorflow/libtensorflow_framework.so.2 "$work/stage/lib/"
cp -r "$work"/x/tensorflow/include/* "$work/stage/include/"
rm -rf "$work/x"
(
  cd "$work/stage/lib"
  ln -s libtensorflow_cc.so.2 libtensorflow.so.2.9.1
  ln -s libtensorflow.so.2.9.1 libtensorflow.so.2
  ln -s libtensorflow.so.2 libtensorflow.so
  ln -s libtensorflow_framework.so.2 libtensorflow_framework.so.2.9.1
  ln -s libtensorflow_framework.so.2 libtensorflow_framework.so
)
tar -C "$work/stage" -cf - lib include | gzip -1 > "$work/serve/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz"
rm -rf "$work/stage"

python3 - "$work/serve" "$work/port" <<'PY' &
import http.server, os, socketserver, sys
os.chdir(sys.argv[1])
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass
with socketserver.TCPServer(("127.0.0.1", 0), Quiet) as s:
    open(sys.argv[2] + ".tmp", "w").write(str(s.server_address[1]))
    os.rename(sys.argv[2] + ".tmp", sys.argv[2])
    s.serve_forever()
PY
server=$!
for _ in $(seq 100); do [[ -f "$work/port" ]] && break; sleep 0.1; done
port=$(cat "$work/port")
echo "* serving it on 127.0.0.1:$port; running: $*" >&2
TFJS_NODE_BASE_URI="http://127.0.0.1:$port/libtensorflow-" \
  npm_config_build_from_source=true \
  npm_config_nodedir="${npm_config_nodedir:-$(dirname "$(dirname "$(command -v node)")")}" \
  "$@"
