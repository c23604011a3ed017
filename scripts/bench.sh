#!/usr/bin/env bash
# Benchmark of the main job: renders a 60 s run in all three formats with a release build, then
# re-encodes the three outputs with the same encoder settings in the same run, and prints wall
# time, time per stage, peak memory and the ratio of the two.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/lib.sh

ensure_rust
ensure_media_tools
ensure_postgres
ensure_redis
use_fast_linker
command -v /usr/bin/time >/dev/null 2>&1 || apt_install time
cargo build --release --locked --bin reelforge >&2
bin="$CARGO_TARGET_DIR/release/reelforge"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A private database, Redis prefix and data directory, so the benchmark never meets other runs.
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/reelforge_bench"
export REELFORGE_BUS__PREFIX="bench-$$"
export REELFORGE_DATA_DIR="$work/data"
export REELFORGE_LISTEN="127.0.0.1:1"

log "making a 60 s video in 16:9, 9:16 and 1:1"
start=$(date +%s.%N)
/usr/bin/time -v -o "$work/time.txt" "$bin" make "a lighthouse keeper's last night" \
  --genre mystery --tone calm --length 60 --seed 42 --out "$work/out" >/dev/null 2>"$work/make.log" || {
  cat "$work/make.log" >&2; exit 1; }
end=$(date +%s.%N)

log "re-encoding the three outputs with the same encoder settings"
read -r -a encoder <<<"$("$bin" encoder-args)"
args=()
i=0
for f in video-16x9 video-9x16 video-1x1; do
  args+=(-i "$work/out/$f.mp4")
done
for f in video-16x9 video-9x16 video-1x1; do
  args+=(-map "$i:v" -map "$i:a" "${encoder[@]}" "$work/reencode-$f.mp4")
  i=$((i + 1))
done
rstart=$(date +%s.%N)
ffmpeg -hide_banner -nostdin -loglevel error -y "${args[@]}"
rend=$(date +%s.%N)

python3 - "$work" "$start" "$end" "$rstart" "$rend" <<'PY'
import json, re, sys
from datetime import datetime
work, start, end, rstart, rend = sys.argv[1], *map(float, sys.argv[2:])
meta = json.load(open(f"{work}/out/metadata.json"))
def at(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
total = end - start
reencode = rend - rstart
print(f"narration: {meta['narration']['duration_ms'] / 1000:.1f} s, scenes: {len(meta['story']['scenes'])}")
print(f"total wall time (command start to files written): {total:.1f} s")
for step in meta["steps"]:
    if step.get("started_at") and step.get("finished_at"):
        print(f"  {step['name']:<11} {at(step['finished_at']) - at(step['started_at']):6.1f} s  (attempts {step['attempts']})")
timings = meta["outputs"].get("timings_ms", {})
print(f"  video detail: audio premix+measure {timings.get('audio', 0) / 1000:.1f} s, one-pass render {timings.get('render', 0) / 1000:.1f} s, thumbnails {timings.get('thumbnails', 0) / 1000:.1f} s")
rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", open(f"{work}/time.txt").read())
if rss:
    print(f"peak RSS (largest of reelforge and its FFmpeg children): {int(rss.group(1)) / 1024:.0f} MiB")
print(f"plain re-encode of the three outputs, same settings: {reencode:.1f} s")
print(f"ratio total / re-encode: {total / reencode:.2f}  (target <= 1.3)")
print(f"ratio render only / re-encode: {timings.get('render', 0) / 1000 / reencode:.2f}")
PY
