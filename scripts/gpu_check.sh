#!/usr/bin/env bash
# GPU validation in one call (issue 16): the suite with CUDA visible, the RL update's throughput and
# MFU on random ~110M / ~350M Llamas in bf16, an RL run with greedy evaluations before and after, and
# (using the GPU while the tests run) the reader base models of issue 12 with their criteria.
#
#   bash scripts/gpu_check.sh                 # on a GPU machine; writes into $OUT (or runs/gpu_check)
#   GPU_CHECK_QUICK=1 PYTHON=.venv/bin/python bash scripts/gpu_check.sh   # tiny sizes on a CPU: checks
#                                                                         # the script, measures nothing
#
# It installs nothing from a registry: the packages the GPU image lacks travel as wheels in .whl/
# (gymnasium and farama-notifications; trl, datasets, dill and multiprocess for the TRL comparison),
# and the tokenizer the random models borrow travels in .cache/gpu (TEXTRL_CACHE). Phases:
#   1. bench_rlft.py for each random model, alone on the machine (its timings are the only ratios);
#   2. at once: pytest (CUDA visible) and `textrl train --config configs/bandit_gpu.yaml` (shipped base
#      model, 4 updates, greedy eval on 64 envs before and after); with GPU_CHECK_PRETRAIN=1 also the
#      pretraining of `reader` and `reader3x` on the GPU;
#   3. (GPU_CHECK_PRETRAIN=1) scripts/base_model_criteria.py on each reader model that finished.
# Measured on one H200 (2026-11-30): each bench ~60 s; the suite 107 s with -n 4; with the two
# pretrainings beside the suite and the RL run, the 16 cores were oversubscribed and every stage
# slowed (reader: 1265 of 4500 steps in 220 s; RL rollouts 42-56 s each): in a 15-minute budget,
# leave the pretraining off.
# Each stage has a time limit; a stage that fails or runs out is reported and the others go on.
# Everything ends up in $OUT: log.txt (this output), summary.txt, and bundle.tgz.part-* (logs,
# criteria, eval tables, the reader models; `cat bundle.tgz.part-* | tar xz` unpacks it).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT_DIR="${OUT:-runs/gpu_check}"
WORK="${GPU_CHECK_WORK:-/tmp/gpu_check}"
QUICK="${GPU_CHECK_QUICK:-0}"
PRETRAIN="${GPU_CHECK_PRETRAIN:-0}"
# every stage ends by this many seconds after the start, so the bundle is always written before the
# device call's own limit (600 s) stops everything
DEADLINE="${GPU_CHECK_DEADLINE:-540}"
PY="${PYTHON:-python3}"
mkdir -p "$OUT_DIR" "$WORK"
exec > >(tee -a "$OUT_DIR/log.txt") 2>&1

if [ "$QUICK" != 1 ] && ls .whl/*.whl >/dev/null 2>&1; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
        .whl/*.whl || { echo "installing the carried wheels failed"; exit 1; }
    export PYTHONPATH="/tmp/site:$PWD"
else
    export PYTHONPATH="$PWD"
fi
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false TRANSFORMERS_NO_ADVISORY_WARNINGS=1
export TEXTRL_CACHE="${TEXTRL_CACHE:-$PWD/.cache/gpu}"
# no registry is reachable: make pip (the SmolLM2 fetch in the suite) fail at once, not after retries
export PIP_NO_INDEX=1 PIP_RETRIES=0

# stage NAME LIMIT_S COMMAND...: run COMMAND with a time limit, its output in $WORK/NAME.log
stage() {
    local name=$1 limit=$2 start=$SECONDS rc
    shift 2
    if (( limit > DEADLINE - SECONDS )); then limit=$(( DEADLINE - SECONDS )); fi
    if (( limit < 5 )); then echo "=== $name: skipped (deadline)" | tee -a "$WORK/summary.txt"; return 124; fi
    echo "=== $(date +%T) $name: start (limit ${limit}s): $*"
    timeout --kill-after=10 "$limit" "$@" >"$WORK/$name.log" 2>&1
    rc=$?
    echo "=== $(date +%T) $name: exit $rc after $((SECONDS - start)) s" | tee -a "$WORK/summary.txt"
    tail -n "${TAIL_LINES:-25}" "$WORK/$name.log"
    return $rc
}

"$PY" - <<'EOF' 2>&1 | tee "$WORK/machine.txt"
import platform, torch, transformers, accelerate
print(f"python {platform.python_version()}, torch {torch.__version__}, transformers {transformers.__version__}, "
      f"accelerate {accelerate.__version__}")
print("cuda:", torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else "")
for name in ("gymnasium", "trl", "datasets"):
    try:
        print(name, __import__(name).__version__)
    except Exception as error:  # noqa: BLE001
        print(name, "not importable:", error)
EOF
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv 2>/dev/null | tee -a "$WORK/machine.txt"

if [ "$QUICK" = 1 ]; then
    DEVICE=cpu; BENCH=(--model quick --episodes 2 --horizon 5 --arms 3 --skip trl unpacked --repeats 1)
    RANDOM_MODELS=(none); PRE=(--size quick --device cpu); PRE3=(--size quick --device cpu --batch-episodes)
    CRIT=(--num-envs 2 --seeds 0 --max-new-tokens 8); TRAIN=(--total_updates 1 --num_envs 2 --eval_num_envs 2
    --eval_seeds '[0]' --env_kwargs '{n_arms: 3, horizon: 3}' --threads 1); PYTEST=(tests/agents/test_cuda_paths.py)
else
    DEVICE=cuda; BENCH=(--device cuda --episodes 8 --horizon 50 --threads 8 --repeats 3 --skip unpacked)
    RANDOM_MODELS=(110M 350M); PRE=(--size reader --device cuda --batch-episodes --data-workers 4)
    PRE3=(--size reader3x --device cuda --data-workers 8); CRIT=(--refs); PYTEST=(-n 6)
    TRAIN=(--total_updates 4 --num_envs 16 --eval_seeds '[0]')
fi

# 1. throughput, alone
for size in "${RANDOM_MODELS[@]}"; do
    if [ "$size" = none ]; then args=("${BENCH[@]}"); else args=(--random-model "$size" "${BENCH[@]}"); fi
    TAIL_LINES=14 stage "bench_$size" 120 "$PY" scripts/bench_rlft.py "${args[@]}"
done

# 2. the suite, the two reader pretrainings and the RL run, side by side; the pretrainings stop by
# themselves (and save their model) early enough to leave phase 3 its time
pre_wall=$(( DEADLINE - SECONDS - 170 )); (( pre_wall > 220 )) && pre_wall=220; (( pre_wall < 30 )) && pre_wall=30
stage pytest 240 "$PY" -m pytest "${PYTEST[@]}" -p no:cacheprovider --junitxml="$WORK/junit.xml" \
    -o addopts="--import-mode=importlib --durations=15" -q -rfEs &
pids=($!)
if [ "$PRETRAIN" = 1 ]; then
stage pretrain_reader $(( pre_wall + 40 )) "$PY" scripts/pretrain_base_model.py "${PRE[@]}" \
    --out "$WORK/reader" --seed 0 --max-wall-s "$pre_wall" --no-progress &
pids+=($!)
stage pretrain_reader3x $(( pre_wall + 40 )) "$PY" scripts/pretrain_base_model.py "${PRE3[@]}" \
    --out "$WORK/reader3x" --seed 0 --max-wall-s "$pre_wall" --no-progress &
pids+=($!)
fi
stage rlft 330 "$PY" -m agents.cli train --config configs/bandit_gpu.yaml --out "$WORK/rlft" \
    --progress false "${TRAIN[@]}" &
rlft_pid=$!
wait "${pids[@]}"

# 3. the criteria of issue 12 on each reader model (the RL run may still be going)
pids=()
for model in reader reader3x; do
    if [ -f "$WORK/$model/model.safetensors" ]; then
        stage "criteria_$model" 120 "$PY" scripts/base_model_criteria.py --model "$WORK/$model" \
            --out "$WORK/criteria_$model" "${CRIT[@]}" &
        pids+=($!)
    fi
done
# (a bare `wait` would also wait for the tee behind `exec > >(...)`, i.e. forever)
wait "${pids[@]}" "$rlft_pid"

echo "=== summary"
cat "$WORK/summary.txt"
cp "$WORK/summary.txt" "$OUT_DIR/summary.txt"
# the bundle: logs, results and models, without checkpoints (optimizer state) and the RL run's weights
tar -C "$WORK" -czf - --exclude='checkpoint.safetensors' --exclude='checkpoints' --exclude='final_model' . \
    | split -b 15M - "$OUT_DIR/bundle.tgz.part-"
ls -la "$OUT_DIR"
