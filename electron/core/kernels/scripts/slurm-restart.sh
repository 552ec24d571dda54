# Restarts a kernel inside its running job: SIGUSR1 to the batch step (the
# supervisor, slurm-kernel.py), which shuts the kernel down cleanly and starts
# it again on the same connection file; then waits until the supervisor says
# so in the generation file. Set before this text: job, gen (the file).
# Prints `restarted PID`, `refused WORDS` or `ended STATE`.
before=$(cat "$gen" 2>/dev/null)
if ! out=$(scancel --signal=USR1 --batch "$job" 2>&1); then
  printf 'refused %s\n' "$out" | tr '\n' ' '
  echo
  exit 0
fi
i=0
while [ "$i" -lt 600 ]; do
  now=$(cat "$gen" 2>/dev/null)
  if [ -n "$now" ] && [ "$now" != "$before" ]; then
    echo "restarted ${now#* }"
    exit 0
  fi
  if [ $((i % 20)) -eq 19 ]; then
    st=$(squeue -h -j "$job" -o %T 2>/dev/null)
    case "$st" in RUNNING|COMPLETING|SIGNALING) ;; *) echo "ended ${st:-gone}"; exit 0 ;; esac
  fi
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
echo "refused the kernel did not come back within 60 s"
