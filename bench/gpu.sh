#!/usr/bin/env bash
# Every suite's benchmark on an accelerator, plus a short end-to-end run of each training CLI,
# in one go and in order of importance, so that a time-limited GPU lease returns what matters first.
#
#   bash bench/gpu.sh [LOG_DIR]        # logs to LOG_DIR (default out/gpu), one file per step
#   ONLY="mujoco_omd_sac cartpole" bash bench/gpu.sh   # just those steps
#
# Each step has its own time limit: a step that hangs or fails is reported and the next one runs.
set -u
log_dir=${1:-out/gpu}
mkdir -p "$log_dir"
export PYTHONUNBUFFERED=1

step() {  # step NAME SECONDS COMMAND...
  local name=$1 limit=$2
  shift 2
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $name "* ]]; then return; fi
  echo "=== $name ($(date +%T), limit ${limit}s): $*"
  timeout "$limit" "$@" >"$log_dir/$name.log" 2>&1
  local rc=$?
  grep -v -e "^\s*$" -e "it/s\]" -e "gym.logger.warn" -e "UserWarning" "$log_dir/$name.log" | tail -n 12
  echo "=== $name: exit $rc"
}

nvidia-smi --query-gpu=name,driver_version,clocks.sm,memory.total --format=csv,noheader || true
python3 -c "import jax; print('jax', jax.__version__, jax.devices())"

step mujoco_omd_sac 240 python3 bench/mujoco.py --algos omd,sac --steps 1000 --repeats 3 --flat both
step gpu_tests 100 python3 -m pytest -q -p no:cacheprovider tests/test_sac.py -k "agree or flat"
step mujoco_mle_vep 100 python3 bench/mujoco.py --algos mle,vep --steps 1000
step cartpole 120 python3 bench/cartpole.py --steps 10000 --seeds 1 100
tmp=$(mktemp -d)
step mujoco_train 70 python3 mujoco/train.py --config.algo=omd --max_steps 3000 --start_training 1000 \
  --eval_interval 1000 --checkpoint_interval 1500 --save_dir "$tmp/mujoco" --notqdm
step cartpole_train 50 python3 cartpole/train.py --agent_type omd --num_train_steps 3000 --num_seeds 4 \
  --out_dir "$tmp/cartpole" --notqdm
tail -n 3 "$tmp"/mujoco/*.txt 2>/dev/null
