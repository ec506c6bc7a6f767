#!/usr/bin/env bash
# Times the README's main job as written (after the install): collect, train, eval; prints one JSON line.
# Usage: benchmarks/main_job_timing.sh LABEL [DIR]   (run it once on a quiet machine, once beside another training)
set -euo pipefail
label=$1
dir=${2:-/tmp/main_job_$label}
rm -rf "$dir" && mkdir -p "$dir" && cd "$dir"
start=$(date +%s.%N)
implicit-policy collect --env Particle2D-v0 --episodes 300 --seed 0 --out data/p2d.npz
t1=$(date +%s.%N)
implicit-policy train --data data/p2d.npz --out runs/p2d
t2=$(date +%s.%N)
implicit-policy eval --policy runs/p2d --env Particle2D-v0 --episodes 100 --seed 1000 --json runs/p2d/eval.json
t3=$(date +%s.%N)
python -c "import json; print(json.dumps({'label': '$label', 'collect_s': $t1 - $start, 'train_s': $t2 - $t1,
  'eval_s': $t3 - $t2, 'total_s': $t3 - $start, 'success_rate': json.load(open('runs/p2d/eval.json'))['success_rate']}))"
