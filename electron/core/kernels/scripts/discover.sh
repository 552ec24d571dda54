# Lists every connection file and Jupyter server file (jpserver-*.json,
# nbserver-*.json) in the Jupyter runtime dirs, and the processes that may
# serve them, in one go. Set before this text:
#   m           a marker no file or process can print by chance
#   "$@"        extra folders to look in
# A scheduler's queue section (slurm-queue.sh) may follow in the same script,
# then the end line (remote-scripts.ts puts both after this text).
# Every line of ours starts with "$m " at the start of a line; a file's text
# and a process's argv follow their header line raw. Names with a newline are
# printed in hex (`hex:...`), others as they are (`raw:...`).
nl='
'
# Prints a name, without a fork unless it holds a newline.
name() { case "$1" in *"$nl"*) printf 'hex:%s' "$(printf %s "$1" | od -An -v -tx1 | tr -d ' \n')";; *) printf 'raw:%s' "$1";; esac; }
# Copies a small file without a fork (a fork per file is most of the cost with
# many kernels). NUL bytes, which no connection file holds, are dropped.
copy() { l=; { while IFS= read -r l; do printf '%s\n' "$l"; done; printf %s "$l"; } < "$1"; }
printf '\n%s begin\n' "$m"
printf '%s now %s\n' "$m" "$(date +%s)"
printf '%s home ' "$m"; name "$HOME"; printf '\n'
seen=
# GNU stat, else BSD's: modification time and size.
if stat -c %Y / >/dev/null 2>&1; then st_fmt="-c %Y_%s"; else st_fmt="-f %m_%z"; fi
for d in "${JUPYTER_RUNTIME_DIR:-}" "${XDG_RUNTIME_DIR:+$XDG_RUNTIME_DIR/jupyter}" "/run/user/$(id -u)/jupyter" \
  "${JUPYTER_DATA_DIR:+$JUPYTER_DATA_DIR/runtime}" "${XDG_DATA_HOME:-$HOME/.local/share}/jupyter/runtime" \
  "$HOME/Library/Jupyter/runtime" "$@"; do
  [ -n "$d" ] && [ -d "$d" ] || continue
  r=$(cd "$d" 2>/dev/null && pwd -P) || continue
  case "$seen" in *"$nl$r$nl"*) continue;; esac
  seen="$seen$nl$r$nl"
  set -- "$r"/kernel-*.json
  # No kernel file here (the glob stays as it is): on to the server files.
  if [ "$#" -gt 1 ] || [ -e "$1" ]; then
    # One stat for the folder; should a file go between the glob and stat, the
    # line-per-file order is lost, and then each file is asked on its own.
    all=$(stat $st_fmt -- "$@" 2>/dev/null) || all=
    c=0; rest=$all
    while [ -n "$rest" ]; do c=$((c + 1)); case "$rest" in *"$nl"*) rest=${rest#*"$nl"};; *) rest=;; esac; done
    [ "$c" -eq "$#" ] || all=
    for f; do
      if [ -n "$all" ]; then ts=${all%%"$nl"*}; all=${all#"$ts"}; all=${all#"$nl"}
      else ts=$(stat $st_fmt -- "$f" 2>/dev/null || echo 0_0); fi
      [ -f "$f" ] || continue
      t=${ts%%_*}; sz=${ts#*_}
      printf '%s file %s %s ' "$m" "$t" "$sz"; name "$f"; printf '\n'
      # A connection file is a few hundred bytes; a bigger one is reported by its size, not read.
      if [ "$sz" -le 65536 ] 2>/dev/null; then copy "$f" 2>/dev/null; fi
      printf '\n'
    done
  fi
  # A server's file holds its token: read here, it travels only on this stdout.
  # Its mode and its folder's tell whether other users can read it too.
  dm=
  for f in "$r"/jpserver-*.json "$r"/nbserver-*.json; do
    [ -f "$f" ] || continue
    [ -n "$dm" ] || dm=$(stat -c '%a' "$r" 2>/dev/null || stat -f '%Lp' "$r" 2>/dev/null || echo 0)
    ts=$(stat -c '%Y %s %a' "$f" 2>/dev/null || stat -f '%m %z %Lp' "$f" 2>/dev/null || echo '0 0 0')
    printf '%s server %s %s ' "$m" "$ts" "$dm"; name "$f"; printf '\n'
    sz=${ts#* }; sz=${sz%% *}
    if [ "$sz" -le 65536 ] 2>/dev/null; then copy "$f" 2>/dev/null; fi
    printf '\n'
  done
done
ps=$(ps -ww -u "$(id -u)" -o pid= -o ppid= -o etime= -o args= 2>/dev/null)
printf '%s ps\n%s\n' "$m" "$ps"
# Which process owns a kernel's ports, from the kernel's own view of its
# sockets (Linux /proc): exact where argv matching could only guess.
if [ -r /proc/self/stat ] && [ -d /proc/self/fd ]; then
  printf '%s procfs\n' "$m"
  pids=$(printf '%s\n' "$ps" | grep -E 'kernel|\.json|jupyter|notebook' | while read -r p _; do printf '%s ' "$p"; done)
  # Every argv in one cat: between two, a file holding a line no argv can
  # hold (the marker); without a temporary file, one cat each, same output.
  argv=
  for p in $pids; do
    [ -r "/proc/$p/cmdline" ] || continue
    read -r st < "/proc/$p/stat" 2>/dev/null || continue
    st=${st##*) }
    set -- $st
    # cd -P sets PWD to the physical path: the cwd without a fork.
    if cd -P "/proc/$p/cwd" 2>/dev/null; then cwd=$PWD; cd / || :; else cwd=; fi
    printf '%s proc %s %s ' "$m" "$p" "${20}"; name "$cwd"; printf '\n'
    argv="$argv /proc/$p/cmdline"
  done
  printf '%s argv\n' "$m"
  if [ -n "$argv" ]; then
    sep=$(mktemp 2>/dev/null) && printf '\n%s next\n' "$m" > "$sep" || sep=
    set -- $argv
    if [ -n "$sep" ]; then
      first=$1; shift
      for a; do set -- "$@" "$sep" "$a"; shift; done
      cat "$first" "$@" 2>/dev/null
      rm -f "$sep"
    else
      first=1
      for a; do [ -n "$first" ] || printf '\n%s next\n' "$m"; first=; cat "$a" 2>/dev/null; done
    fi
    printf '\n'
  fi
  fds=
  for p in $pids; do fds="$fds /proc/$p/fd"; done
  printf '%s fds\n' "$m"
  [ -z "$fds" ] || ls -l /dev/null $fds 2>/dev/null | grep -E '^/proc/|socket:'
  printf '%s tcp\n' "$m"
  awk '$4 == "0A" { print $2, $10 }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
  printf '%s unix\n' "$m"
  grep -E -- '-[0-9]+$' /proc/net/unix 2>/dev/null
fi
