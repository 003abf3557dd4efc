#!/bin/sh
# console-build.sh OUTDIR — builds the web console (console/, TypeScript + Vite + ECharts from npm)
# into OUTDIR: a type check with tsc, then Vite's production bundle. Run by the build
# (CMakeLists.txt), which then compiles OUTDIR into kasumid; the bundle is never committed.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out=$1
if [ ! -x "$root/node_modules/.bin/vite" ]; then
    echo "console-build: the npm packages are missing: run sh scripts/npm-deps.sh (make does)" >&2
    exit 1
fi
cd "$root/console"
node "$root/node_modules/typescript/bin/tsc" -p tsconfig.json --noEmit
node "$root/node_modules/vite/bin/vite.js" build --logLevel warn --outDir "$out" --emptyOutDir
