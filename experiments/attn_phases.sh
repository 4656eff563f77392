#!/usr/bin/env bash
# The whole-row attention-only baselines through the hybrids' five phases, in order; each phase resumes where the
# last session stopped (a finished phase returns at once). Usage: bash experiments/attn_phases.sh [RUN,RUN] [MINUTES]
# With no runs named, all four; MINUTES caps each sweep's runs (default 150).
set -euo pipefail
cd "$(dirname "$0")/.."
only=${1:+--only $1}
minutes=${2:-150}
py=${PYTHON:-python}
for steps in 4000 6000 7500; do
  $py experiments/sweep.py experiments/sweep_rule110_cells_attn.json --runs-dir experiments/resume/r110cells_attn \
      --steps $steps --parallel 1 --threads 1 $only --max-minutes "$minutes"
done
for steps in 8500 10000; do
  $py experiments/sweep.py experiments/sweep_rule110_cells_attn_curr.json \
      --runs-dir experiments/resume/r110cells_attn_curr --steps $steps --parallel 1 --threads 1 $only \
      --max-minutes "$minutes"
done
