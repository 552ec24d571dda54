# The batch job of one kernel, run by slurmd on the compute node. Set before
# this text (by slurm-submit.sh): cf, gen, py, kernel, cwd. Its output is the
# job's output file, whose tail Kernel Tray shows when the job fails.
if ! command -v "$py" >/dev/null 2>&1; then
  echo "ktray: there is no $py on $(hostname) (the compute node); pass --python with a Python that exists there."
  exit 127
fi
KT_CF=$cf KT_GEN=$gen KT_KERNEL=$kernel KT_CWD=$cwd
export KT_CF KT_GEN KT_KERNEL KT_CWD
# The supervisor is the batch step itself, so scancel --batch signals reach it.
exec "$py" - <<'KTRAY_KERNEL_EOF'
@SUPERVISOR@
KTRAY_KERNEL_EOF
