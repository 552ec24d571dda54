# What the host offers for a new kernel: Python environments (and whether
# each has ipykernel) and the kernelspecs Jupyter knows there.
printf '@@KTRAY-HOME %s\n' "$HOME"
for py in python3 "$HOME"/miniconda3/bin/python "$HOME"/anaconda3/bin/python "$HOME"/miniforge3/bin/python "$HOME"/mambaforge/bin/python /opt/conda/bin/python \
  "$HOME"/miniconda3/envs/*/bin/python "$HOME"/anaconda3/envs/*/bin/python "$HOME"/miniforge3/envs/*/bin/python /opt/conda/envs/*/bin/python \
  "$HOME"/.venv/bin/python "$HOME"/*/.venv/bin/python "$HOME"/.virtualenvs/*/bin/python "$HOME"/venvs/*/bin/python /usr/bin/python3; do
  case "$py" in */*) [ -x "$py" ] || continue;; *) command -v "$py" >/dev/null 2>&1 || continue; py=$(command -v "$py");; esac
  if "$py" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("ipykernel") is None)' >/dev/null 2>&1; then k=1; else k=0; fi
  printf '@@KTRAY-PY %s %s\n' "$k" "$py"
done
for py in python3 /usr/bin/python3; do
  command -v "$py" >/dev/null 2>&1 || continue
  "$py" -c 'import json; from jupyter_client.kernelspec import KernelSpecManager as K; print("@@KTRAY-SPECS " + json.dumps({n: {"display_name": s["spec"]["display_name"], "language": s["spec"]["language"]} for n, s in K().get_all_specs().items()}))' 2>/dev/null && break
done
