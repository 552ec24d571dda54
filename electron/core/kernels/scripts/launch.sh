# Starts a kernel in its own session, detached from SSH, and waits for its
# connection file (launcher.py does the work). Set before this text:
#   py          the Python asked for (--python), or empty: then the launcher
#               looks at the Pythons below, in this order, as candidates
#   KT_*        the launcher's orders, exported
#   missing     the @@KTRAY-LAUNCH line to print when there is no such Python
if [ -n "$py" ]; then
  if ! KT_CANDIDATES=$(command -v "$py" 2>/dev/null); then
    printf '%s\n' "$missing"
    exit 0
  fi
  export KT_CANDIDATES
else
  nl='
'
  KT_CANDIDATES=
  for c in python3 /usr/bin/python3 /usr/local/bin/python3 /opt/homebrew/bin/python3 "$HOME"/miniconda3/bin/python \
    "$HOME"/anaconda3/bin/python "$HOME"/miniforge3/bin/python "$HOME"/mambaforge/bin/python /opt/conda/bin/python python; do
    c=$(command -v "$c" 2>/dev/null) || continue
    case "$nl$KT_CANDIDATES$nl" in *"$nl$c$nl"*) continue;; esac
    KT_CANDIDATES="$KT_CANDIDATES${KT_CANDIDATES:+$nl}$c"
  done
  export KT_CANDIDATES
  py=${KT_CANDIDATES%%"$nl"*}
  if [ -z "$py" ]; then
    printf '%s\n' "$missing"
    exit 0
  fi
fi
exec "$py" - <<'KTRAY_LAUNCHER_EOF'
@LAUNCHER@
KTRAY_LAUNCHER_EOF
