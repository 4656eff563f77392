#!/bin/bash
# Longer training: continue a Rule 110 checkpoint from 3,600 to 6,000 steps on the CPU, same recipe (the cosine
# schedule restarts from its 3,600/6,000 point, as the 2,100 -> 3,600 resume did). The shipped checkpoints are the
# result: each was trained to 3,600 steps (see its card), copied to runs_cpu/ext/NAME, continued here, then copied
# back (config.json, log.jsonl, model.safetensors, train_state.*) and evaluated by `python experiments/report.py`.
#
#   bash experiments/longer.sh rule110-n4 4 0        # NAME PASSES SEED [more flags] (one run, ~40-90 min on one core)
#   bash experiments/longer.sh rule110-attn-kept 1 0 --layers AA --eviction none
#
# As run (two queues side by side, 1 thread each, on this project's 2-core machine):
#   rule110-n4 4 0, rule110-n4-seed1 4 1   |   rule110-n1 1 0, rule110-n1-seed1 1 1
#   rule110-n2 2 0                         |   rule110-attn-evicted 1 0 --layers AA,
#                                              rule110-attn-kept 1 0 --layers AA --eviction none
#   rule110-n2-seed1 2 1,                  |   rule110-attn-kept-seed1 1 1 --layers AA --eviction none,
#   rule110-nmix 1 0 --passes 1 2 4        |   rule110-attn-evicted-seed1 1 1 --layers AA
# (the two seed-1 baselines were first trained to 3,600 steps on the CPU, the commands in their cards)
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1; passes=$2; seed=$3; shift 3
out=runs_cpu/ext/$name
if [ ! -d "$out" ]; then mkdir -p runs_cpu/ext && cp -r "checkpoints/$name" "$out"; fi
.venv/bin/python -m sleepcore.train --out "$out" --d-model 64 --n-heads 2 --head-dim 32 --batch-size 512 \
  --eval-every 250 --eval-samples 1000 --ckpt-every 250 --task rule110 --task-param width=16 --task-param 'steps=[1,8]' \
  --layers AF --passes "$passes" --seed "$seed" --threads 1 --device cpu --no-progress --steps 6000 "$@"
