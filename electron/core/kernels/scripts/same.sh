# same: true while pid $p is still the process that was listed, judged by its
# start time ($start, /proc/PID/stat field 22; empty where the host has no
# /proc, then only the pid is known). A pid reused by another process is never
# signalled.
same() {
  [ -n "$start" ] || { kill -0 "$p" 2>/dev/null; return; }
  read -r s 2>/dev/null < "/proc/$p/stat" || return 1
  s=${s##*) }
  set -- $s
  [ "${20}" = "$start" ]
}
