#!/usr/bin/env bash
# The README's results: collect 300 demonstrations, train each preset, evaluate on 100 unseen episodes.
# Usage: examples/main_job.sh [OUT_DIR]   (about 45 minutes on a 2-core CPU)
set -euo pipefail
out=${1:-runs}
implicit-policy collect --env Particle2D-v0 --episodes 300 --seed 0 --out "$out/p2d.npz" --quiet
for preset in ibc-langevin dfo correct-langevin; do
  /usr/bin/time -f "$preset wall %e s" implicit-policy train --data "$out/p2d.npz" --preset "$preset" --out "$out/$preset" --quiet
  implicit-policy eval --policy "$out/$preset" --env Particle2D-v0 --episodes 100 --seed 1000 --json "$out/$preset/eval.json" --quiet
done
