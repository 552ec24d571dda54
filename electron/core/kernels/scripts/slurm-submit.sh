# Submits one kernel as a Slurm batch job, from the login node. Set before
# this text:
#   m        a marker for our lines (text a login shell prints may precede them)
#   id       the kernel's name (a uuid): job name ktray-ID, file kernel-ID.json
#   py       the Python to run the kernel with on the node
#   kernel   a kernelspec name instead, or empty
#   cwd      the kernel's working directory, or empty for the home
#   "$@"     the user's sbatch arguments (options only, checked already)
# The connection file goes to the Jupyter runtime dir in the (shared) home, the
# job's output to ~/.cache/ktray, both folders 0700 and every file 0600 (umask;
# sbatch passes it on to the job). The job script is read by sbatch on stdin,
# so nothing of it is in an argv; it holds no key (the node makes the key).
umask 077
printf '\n%s begin\n' "$m"
if ! command -v sbatch >/dev/null 2>&1; then
  printf '%s no-sbatch\n%s end\n' "$m" "$m"
  exit 0
fi
rt=${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/runtime
logdir=${XDG_CACHE_HOME:-$HOME/.cache}/ktray
for d in "$rt" "$logdir"; do
  if ! mkdir -p "$d" 2>/dev/null || ! chmod 700 "$d" 2>/dev/null; then
    printf '%s unwritable\n%s\n%s end\n' "$m" "$d" "$m"
    exit 0
  fi
done
[ -n "$cwd" ] || cwd=$HOME
if [ ! -d "$cwd" ]; then
  printf '%s no-cwd\n%s\n%s end\n' "$m" "$cwd" "$m"
  exit 0
fi
cf=$rt/kernel-$id.json
log=$logdir/slurm-$id.log
gen=$logdir/slurm-$id.gen
# q: one value as sh reads it back, for the job script's assignments.
q() { printf "'"; printf '%s' "$1" | sed "s/'/'\\\\''/g"; printf "'\n"; }
res=$(
  {
    printf '#!/bin/sh\n'
    printf 'cf=' && q "$cf"
    printf 'gen=' && q "$gen"
    printf 'py=' && q "$py"
    printf 'kernel=' && q "$kernel"
    printf 'cwd=' && q "$cwd"
    cat <<'KTRAY_JOB_EOF'
@JOB@
KTRAY_JOB_EOF
  } | sbatch --parsable --job-name="ktray-$id" --output="$log" --open-mode=append --chdir="$cwd" "$@" 2>&1
)
rc=$?
printf '%s sbatch %s\n%s\n' "$m" "$rc" "$res"
printf '%s files\n%s\n%s\n' "$m" "$cf" "$log"
printf '%s end\n' "$m"
