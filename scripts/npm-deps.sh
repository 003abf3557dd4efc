#!/bin/sh
# Installs the npm packages of package-lock.json into node_modules: the web console's build (vite,
# typescript, echarts), and the test fixtures (node-llama-cpp with only its CPU prebuilt, the
# official openai and @anthropic-ai/sdk clients, @aws-sdk/client-s3 with lib-storage for the S3
# tests, playwright-core and axe-core for the console's browser test).
# Does nothing when node_modules is at least as new as package-lock.json. `make check` and
# `make run` call it; run it by hand after changing package.json.
#
# --omit=optional: node-llama-cpp lists a dozen prebuilt addons as optional dependencies; the
#   CUDA and Vulkan ones alone are about 540 MB. The CPU one, @node-llama-cpp/linux-x64, is a
#   regular dependency in package.json, so it is installed anyway. Likewise vite's native parts
#   (@rolldown/binding-linux-x64-gnu, lightningcss-linux-x64-gnu) are listed as regular ones.
# NODE_LLAMA_CPP_SKIP_DOWNLOAD=true: node-llama-cpp's postinstall would otherwise try to download
#   or build llama.cpp when no prebuilt fits (npm 11 does not run that script unless allowed, but
#   another npm might).
set -eu
cd "$(dirname "$0")/.."

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "npm-deps: node and npm are needed (Node.js 20+ with npm; they come with the machine)" >&2
    exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
    echo "npm-deps: Node.js 20+ is needed, this is $(node --version)" >&2
    exit 1
fi

stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] && [ ! package.json -nt "$stamp" ]; then
    exit 0
fi
if [ -f "$stamp" ]; then
    echo "npm-deps: package-lock.json is newer than node_modules: npm ci --omit=optional"
else
    echo "npm-deps: no node_modules: npm ci --omit=optional"
fi
start=$(date +%s)
NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm ci --omit=optional --no-audit --no-fund --loglevel=error
# npm ci may keep the lock's own mtime on the stamp: touch it so the next run sees it up to date.
touch "$stamp"
echo "npm-deps: installed in $(( $(date +%s) - start ))s, node_modules is $(du -sh node_modules | cut -f1)"
