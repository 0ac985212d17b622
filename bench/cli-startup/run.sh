#!/usr/bin/env bash
# Start-up time of the `imspect` command: the median wall time of `--version`, `--help`, `status` and
# `plugins list`, measured with hyperfine (Debian: apt-get install hyperfine). Run by hand, after `pnpm build`;
# it asserts nothing. Usage: bash bench/cli-startup/run.sh [runs]   (default 20 runs per command)
# IMSPECT_CLI=/other/checkout/packages/cli/bin/run.js measures another build (e.g. before a change) the same way.
# `--help (oclif)` is the same help printed by oclif itself (IMSPECT_NO_FAST_HELP=1), for a ratio in one run.
set -euo pipefail
runs="${1:-20}"
repo="$(cd "$(dirname "$0")/../.." && pwd)"
cli="${IMSPECT_CLI:-$repo/packages/cli/bin/run.js}"
# The workspace's own Node 24 (the `node` dev dependency), as `pnpm start` uses: a system Node 20 would measure
# imspect starting itself again on Node 24 (see bin/node-version.js).
node="$(cd "$repo" && pnpm exec node -p process.execPath 2>/dev/null || command -v node)"
command -v hyperfine >/dev/null || { echo "hyperfine is missing (Debian: apt-get install hyperfine)" >&2; exit 1; }
# An empty folder as working directory: no configuration file, so every command runs on the embedded defaults.
work="$(mktemp -d "${TMPDIR:-/tmp}/imspect-cli-startup-XXXXXX")"
trap 'rm -rf "$work"' EXIT
cd "$work"
echo "node $("$node" --version), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), manifest: $([ -f "$repo/packages/cli/oclif.manifest.json" ] && echo yes || echo no)"
export NO_COLOR=1
hyperfine --style basic --warmup 3 --runs "$runs" --export-json "$work/times.json" \
  -n 'imspect --version' "$node $cli --version" \
  -n 'imspect --help' "$node $cli --help" \
  -n 'imspect --help (oclif)' "env IMSPECT_NO_FAST_HELP=1 $node $cli --help" \
  -n 'imspect status' "$node $cli status" \
  -n 'imspect plugins list' "$node $cli plugins list" >/dev/null
node -e '
  const { results } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  // Wall time waits for other processes on a busy machine; user + system CPU time does not, so both are shown.
  console.log("command                  median ms   min ms   max ms   cpu ms (user+sys, mean)");
  for (const r of results) console.log(r.command.padEnd(24), (r.median * 1000).toFixed(0).padStart(9), (r.min * 1000).toFixed(0).padStart(8), (r.max * 1000).toFixed(0).padStart(8), ((r.user + r.system) * 1000).toFixed(0).padStart(8));
' "$work/times.json"
