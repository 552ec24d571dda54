# Waits on the login node, without a round trip per look, until a job's kernel
# answers (its supervisor wrote the generation file), the job ends, or `limit`
# tenths of a second pass. Set before this text: job, gen (the file), limit.
# Prints `up`, `ended STATE` or `waiting STATE`. The queue is asked every
# half second; the shared home every tenth.
i=0
st=
while [ "$i" -lt "$limit" ]; do
  if [ -s "$gen" ]; then echo up; exit 0; fi
  if [ $((i % 5)) -eq 0 ]; then
    st=$(squeue -h -j "$job" -o %T 2>/dev/null)
    case "$st" in
      PENDING|CONFIGURING|RUNNING|REQUEUED|REQUEUE_HOLD|REQUEUE_FED|RESV_DEL_HOLD|SUSPENDED|SIGNALING|RESIZING|STAGE_OUT) ;;
      *) [ -s "$gen" ] && { echo up; exit 0; }; echo "ended ${st:-gone}"; exit 0 ;;
    esac
  fi
  sleep 0.1 2>/dev/null || sleep 1
  i=$((i + 1))
done
echo "waiting $st"
