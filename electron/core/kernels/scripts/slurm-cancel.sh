# Ends a Kernel Tray job and waits until Slurm has let it go. Set before this
# text: job (the id); "$@" the files to remove once it is gone. Prints `gone`,
# or `alive STATE` when it would not end in time.
scancel "$job" 2>/dev/null
i=0
st=
while [ "$i" -lt 600 ]; do
  st=$(squeue -h -j "$job" -o %T 2>/dev/null)
  case "$st" in
    ''|COMPLETED|CANCELLED|FAILED|TIMEOUT|PREEMPTED|NODE_FAIL|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY|REVOKED|SPECIAL_EXIT) break ;;
  esac
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
case "$st" in
  ''|COMPLETED|CANCELLED|FAILED|TIMEOUT|PREEMPTED|NODE_FAIL|BOOT_FAIL|DEADLINE|OUT_OF_MEMORY|REVOKED|SPECIAL_EXIT)
    for f in "$@"; do rm -f -- "$f"; done
    echo gone ;;
  *) echo "alive $st" ;;
esac
