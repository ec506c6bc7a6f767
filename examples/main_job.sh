#!/usr/bin/env bash
# The Particle2D-v0 rows of the docs' Results table: collect 300 demonstrations, train the Particle2D presets
# (proposal, the default; ibc-langevin; dfo; correct-langevin; the mse and mdn baselines) and evaluate each
# on 100 unseen episodes. The README's own results table adds seeds and envs (commands under that table).
# Usage: examples/main_job.sh [OUT_DIR]   (about an hour on a 2-core CPU)
set -euo pipefail
out=${1:-runs}
implicit-policy collect --env Particle2D-v0 --episodes 300 --seed 0 --out "$out/p2d.npz" --quiet
for preset in proposal ibc-langevin dfo correct-langevin mse mdn; do
  /usr/bin/time -f "$preset wall %e s" implicit-policy train --data "$out/p2d.npz" --preset "$preset" --out "$out/$preset" --quiet
  implicit-policy eval --policy "$out/$preset" --env Particle2D-v0 --episodes 100 --seed 1000 --json "$out/$preset/eval.json" --quiet
done
