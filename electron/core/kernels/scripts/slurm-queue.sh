# Kernel Tray's Slurm jobs, in the same round trip as discover.sh: one squeue
# for all of the user's jobs, however many, of which those named ktray-* are
# printed (`%j` last: a job name may hold any character). Set before this
# text: m, discover.sh's marker. Prints a `queue` section, or `queue-error`
# with squeue's own words; then, for each running job whose kernel answers,
# what its supervisor wrote once it did (`up NAME`: generation and pid on the
# node), and for each job that failed, the tail of its output file (`tail
# NAME`), which says why. Set before this text too: kt_mine, the job ids the
# agent remembers; those squeue no longer shows (it forgets ended jobs after
# MinJobAge) are asked of sacct, which knows how they ended where the site
# keeps accounting (`acct ID` with sacct's line, else `acct-error ID WHY`
# with its words: accounting off says so).
logdir=${XDG_CACHE_HOME:-$HOME/.cache}/ktray
if ! command -v squeue >/dev/null 2>&1; then
  printf '%s queue-error no-squeue\n' "$m"
else
  q=$(squeue -h -t all -u "$(id -un)" -o '%i|%T|%r|%N|%P|%L|%l|%M|%j' 2>&1)
  rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '%s queue-error %s\n%s\n' "$m" "$rc" "$q"
  else
    printf '%s queue\n' "$m"
    printf '%s\n' "$q" | awk -F'|' 'NF >= 9 && $9 ~ /^ktray-/'
    for n in $(printf '%s\n' "$q" | awk -F'|' 'NF >= 9 && $9 ~ /^ktray-[0-9a-f-]+$/ && $2 == "RUNNING" { print substr($9, 7) }'); do
      [ -s "$logdir/slurm-$n.gen" ] || continue
      printf '%s up %s\n' "$m" "$n"
      head -c 100 "$logdir/slurm-$n.gen"
    done
    for n in $(printf '%s\n' "$q" | awk -F'|' 'NF >= 9 && $9 ~ /^ktray-[0-9a-f-]+$/ && $2 ~ /^(FAILED|OUT_OF_MEMORY|NODE_FAIL|BOOT_FAIL)$/ { print substr($9, 7) }'); do
      printf '%s tail %s\n' "$m" "$n"
      tail -n 20 "$logdir/slurm-$n.log" 2>/dev/null | cut -c 1-300
    done
    for j in $kt_mine; do
      printf '%s\n' "$q" | awk -F'|' -v j="$j" '$1 == j { f = 1 } END { exit !f }' && continue
      if ! command -v sacct >/dev/null 2>&1; then
        printf '%s acct-error %s no-sacct\n' "$m" "$j"
        continue
      fi
      a=$(sacct -n -P -X -j "$j" -o JobID,State,Reason,ExitCode 2>&1)
      arc=$?
      if [ "$arc" -ne 0 ]; then
        printf '%s acct-error %s %s\n%s\n' "$m" "$j" "$arc" "$a"
      else
        printf '%s acct %s\n%s\n' "$m" "$j" "$a"
      fi
    done
  fi
fi
