#!/usr/bin/env bash
# The cluster test: runs a shipped experiment on a real, one-node Slurm cluster started on this
# machine, through `bayeslab slurm --submit`, and checks that its merged metrics equal a local,
# unsharded run's byte for byte; then leaves one array task out, checks that the merge job names
# it and exits 1, reruns that task alone and checks the same bytes again; last, runs a small
# [tune] search as 3 array tasks and checks it against the same search run locally.
#
#   bash scripts/slurm_test.sh [path/to/bayeslab]     (default: target/release/bayeslab)
#
# Needs root (the daemons run as root) and Debian's `slurm-wlm` and `munge`, which it installs
# with apt-get when they are missing. Without root, or when the packages cannot be installed, it
# says so and exits 0 without testing anything. Everything it starts (munged, slurmctld,
# slurmd) uses a private directory, socket and ports, and is stopped on exit; the system's own
# configuration is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=$(realpath "${1:-${CARGO_TARGET_DIR:-target}/release/bayeslab}")
EXPERIMENT=quickstart
TASKS=2
DEADLINE_S=170 # the whole test stays under 3 minutes

skip() {
  echo "slurm test SKIPPED: $*"
  exit 0
}

started=$(date +%s)
[[ $(id -u) -eq 0 ]] || skip "needs root to start slurmctld and slurmd"
[[ -x $BIN ]] || {
  echo "slurm test: no bayeslab binary at $BIN (build it: cargo build --release)" >&2
  exit 1
}
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  command -v apt-get >/dev/null || skip "slurm-wlm and munge are not installed and there is no apt-get"
  echo "slurm test: installing slurm-wlm and munge"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null; }; then
    skip "cannot install slurm-wlm and munge (offline?)"
  fi
fi

WORK=$(mktemp -d /tmp/bayeslab-slurm.XXXXXX)
chmod 755 "$WORK"
CLUSTER=$WORK/cluster
mkdir -p "$CLUSTER"/{state,spool,log}
export SLURM_CONF=$CLUSTER/slurm.conf

pids=()
stop_daemons() {
  local status=$?
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ $status -ne 0 ]]; then
    echo "--- slurm test failed; daemon logs in $CLUSTER/log, job logs in $WORK/run/slurm" >&2
    tail -n 20 "$CLUSTER"/log/*.log >&2 || true
  else
    rm -rf "$WORK"
  fi
  exit $status
}
trap stop_daemons EXIT

# munge: a private daemon on a private socket, with a fresh key.
dd if=/dev/urandom of="$CLUSTER/munge.key" bs=1024 count=1 status=none
chmod 400 "$CLUSTER/munge.key"
munged --force --socket="$CLUSTER/munge.sock" --key-file="$CLUSTER/munge.key" \
  --pid-file="$CLUSTER/munged.pid" --log-file="$CLUSTER/log/munged.log" \
  --seed-file="$CLUSTER/munge.seed"
pids+=("$(cat "$CLUSTER/munged.pid")")

# slurm.conf for one node: this machine, with its real CPUs and memory (`slurmd -C`).
NODE=$(hostname -s)
NODE_LINE=$(slurmd -C | head -n 1)
# Unusual ports, so a cluster already running here is not disturbed.
PORT=$((20000 + $$ % 20000))
cat >"$SLURM_CONF" <<EOF
ClusterName=bayeslab-test
SlurmctldHost=$NODE
SlurmctldPort=$PORT
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$CLUSTER/munge.sock
StateSaveLocation=$CLUSTER/state
SlurmdSpoolDir=$CLUSTER/spool
SlurmctldPidFile=$CLUSTER/slurmctld.pid
SlurmdPidFile=$CLUSTER/slurmd.pid
SlurmctldLogFile=$CLUSTER/log/slurmctld.log
SlurmdLogFile=$CLUSTER/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MinJobAge=300
KillWait=5
$NODE_LINE State=UNKNOWN
PartitionName=test Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF

slurmctld -f "$SLURM_CONF" -i
for _ in $(seq 100); do [[ -s $CLUSTER/slurmctld.pid ]] && break; sleep 0.1; done
pids+=("$(cat "$CLUSTER/slurmctld.pid")")
slurmd -f "$SLURM_CONF"
for _ in $(seq 100); do [[ -s $CLUSTER/slurmd.pid ]] && break; sleep 0.1; done
pids+=("$(cat "$CLUSTER/slurmd.pid")")

# Wait until the node takes jobs.
for _ in $(seq 150); do
  state=$(sinfo -h -n "$NODE" -o %t 2>/dev/null || true)
  [[ $state == idle ]] && break
  sleep 0.2
done
[[ $state == idle ]] || {
  echo "slurm test: node $NODE is '$state', not idle" >&2
  exit 1
}
echo "slurm test: one-node cluster up ($NODE, $(sinfo -h -o %c) CPUs) after $(($(date +%s) - started)) s"

# The local reference: the same experiment (resolved in the same directory), unsharded, here.
export OPENBLAS_NUM_THREADS=1
mkdir -p "$WORK/run"
cd "$WORK/run"
"$BIN" run "$EXPERIMENT" --out "$WORK/local" --no-report --quiet

# The cluster run: one command writes the scripts and submits them.
"$BIN" slurm "$EXPERIMENT" --tasks "$TASKS" --time 00:10:00 --submit | tee submit.txt
merge_id=$(sed -n 's/^submitted merge job \([0-9]*\).*/\1/p' submit.txt)
[[ -n $merge_id ]] || {
  echo "slurm test: no merge job id in the output of bayeslab slurm --submit" >&2
  exit 1
}

# Wait for the merge job to leave the queue (the array's tasks go first).
while [[ -n $(squeue -h -j "$merge_id" 2>/dev/null) ]]; do
  if (($(date +%s) - started > DEADLINE_S)); then
    echo "slurm test: the jobs did not finish within $DEADLINE_S s" >&2
    squeue >&2 || true
    exit 1
  fi
  sleep 1
done
cat slurm/"$EXPERIMENT"/logs/*.out
status_file=slurm/$EXPERIMENT/merge.exit
[[ -f $status_file ]] || {
  echo "slurm test: the merge job left no $status_file" >&2
  exit 1
}
[[ $(cat "$status_file") == 0 ]] || {
  echo "slurm test: the merge job exited $(cat "$status_file")" >&2
  exit 1
}
for k in $(seq "$TASKS"); do
  grep -q '"state": "done"' "results/$EXPERIMENT/shards/$k-of-$TASKS.json" || {
    echo "slurm test: shard $k/$TASKS left no record of a finished shard" >&2
    exit 1
  }
  grep -q "\"slurm_array_task_id\": \"$k\"" "results/$EXPERIMENT/shards/$k-of-$TASKS.json" || {
    echo "slurm test: shard $k/$TASKS did not run as array task $k" >&2
    exit 1
  }
done
[[ -f reports/$EXPERIMENT/README.md ]] || {
  echo "slurm test: the merge job rendered no report" >&2
  exit 1
}

# Same spec, same build: the merged metrics are the same bytes, however the runs were sharded.
if cmp "results/$EXPERIMENT/metrics.parquet" "$WORK/local/results/$EXPERIMENT/metrics.parquet"; then
  echo "slurm test: metrics.parquet of $TASKS array tasks is byte-identical to the local run's"
else
  echo "slurm test: metrics.parquet differs from the local run's" >&2
  exit 1
fi

# A task that did not run, and its rerun as the README says: submit only array task 1, then the
# merge, which must name shard 2 and exit 1; then task 2 again and the merge again.
wait_for() {
  while [[ -n $(squeue -h -j "$1" 2>/dev/null) ]]; do
    if (($(date +%s) - started > DEADLINE_S)); then
      echo "slurm test: job $1 did not finish within $DEADLINE_S s" >&2
      exit 1
    fi
    sleep 1
  done
}
"$BIN" slurm "$EXPERIMENT" --tasks "$TASKS" --time 00:10:00 --out "$WORK/rerun" >/dev/null
scripts=$WORK/rerun/slurm/$EXPERIMENT
first=$(sbatch --parsable --array=1 "$scripts/array.sh")
merge=$(sbatch --parsable --dependency=afterany:"$first" "$scripts/merge.sh")
wait_for "$merge"
[[ $(cat "$scripts/merge.exit") == 1 ]] || {
  echo "slurm test: the merge after a missing task exited $(cat "$scripts/merge.exit"), not 1" >&2
  exit 1
}
grep -q "shard(s) 2 of $TASKS left no record" "$scripts"/logs/merge-"$merge".out || {
  echo "slurm test: the merge did not name the missing shard" >&2
  cat "$scripts"/logs/merge-"$merge".out >&2
  exit 1
}
second=$(sbatch --parsable --array=2 "$scripts/array.sh")
merge=$(sbatch --parsable --dependency=afterany:"$second" "$scripts/merge.sh")
wait_for "$merge"
[[ $(cat "$scripts/merge.exit") == 0 ]] || {
  echo "slurm test: the merge after the rerun exited $(cat "$scripts/merge.exit")" >&2
  exit 1
}
cmp "$WORK/rerun/results/$EXPERIMENT/metrics.parquet" "$WORK/local/results/$EXPERIMENT/metrics.parquet" || {
  echo "slurm test: metrics.parquet after a rerun task differs from the local run's" >&2
  exit 1
}
echo "slurm test: a missing task was named by the merge (exit 1); rerun alone, it completed the same bytes"

# A [tune] experiment, its searches spread over 3 array tasks (4 searches: 2 strategies x 2
# repeats), against the same search run locally. Every trial is a run whose id hashes its
# values, so equal metrics bytes mean equal proposals, trial by trial.
TUNE=(tune_concrete_2d --set tune.budget=6 --set tune.repeats=2 --set train.epochs=5)
"$BIN" run "${TUNE[@]}" --out "$WORK/tune-local" --no-report --quiet
"$BIN" slurm "${TUNE[@]}" --tasks 3 --time 00:10:00 --out "$WORK/tune" --submit >tune-submit.txt
merge=$(sed -n 's/^submitted merge job \([0-9]*\).*/\1/p' tune-submit.txt)
wait_for "$merge"
[[ $(cat "$WORK/tune/slurm/tune_concrete_2d/merge.exit") == 0 ]] || {
  echo "slurm test: the search's merge job exited $(cat "$WORK/tune/slurm/tune_concrete_2d/merge.exit")" >&2
  cat "$WORK"/tune/slurm/tune_concrete_2d/logs/*.out >&2
  exit 1
}
cmp "$WORK/tune/results/tune_concrete_2d/metrics.parquet" \
  "$WORK/tune-local/results/tune_concrete_2d/metrics.parquet" || {
  echo "slurm test: the search sharded over 3 tasks scored differently from the local search" >&2
  exit 1
}
searches=$(cat "$WORK"/tune/results/tune_concrete_2d/shards/{1,2,3}-of-3.json | sed -n 's/.*"searches": \([0-9]*\).*/\1/p' | tr '\n' ' ')
[[ $searches == "2 1 1 " ]] || {
  echo "slurm test: the 3 tasks ran '$searches' searches, not 2 1 1" >&2
  exit 1
}
echo "slurm test: a [tune] search over 3 array tasks (searches per task: $searches) gives the local search's metrics.parquet, byte for byte"
cd "$ROOT"
echo "slurm test passed in $(($(date +%s) - started)) s"
