// Configuration of the Slurm harness's cluster: slurm.conf and /etc/hosts for
// a login node (slurmctld, sshd) and one compute node (slurmd).
//
// Why these settings (tried on this machine: Debian 12 slurm-wlm 22.05, no
// systemd, the cgroup v1 + v2 hybrid tree, daemons as plain root processes in
// namespaces):
// - A node is entered with `nsenter --net` + `unshare --mount --uts --pid`:
//   under `ip netns exec`, which mounts a fresh /sys, slurmd 22.05 will not
//   start at all, whatever the plugins ("No filesystem mounted on
//   /sys/fs/cgroup ... slurmd initialization failed").
// - ProctrackType=proctrack/linuxproc and TaskPlugin=task/none: with
//   proctrack/cgroup slurmd starts, but every job fails to launch ("cgroup
//   namespace 'freezer' not mounted"), and cgroup plugins would write into
//   this machine's one cgroup tree, which parallel runs share. linuxproc
//   tracks a job's processes by their parentage in /proc, which the node's
//   own PID namespace keeps to that node.
// - JobAcctGatherType=jobacct_gather/none, AccountingStorageType=none: no
//   slurmdbd; squeue then keeps an ended job for MinJobAge seconds only.
// - SlurmUser=root: no slurm user to create or clean up; munge and the
//   daemons run as root as on a real cluster's nodes.
// - KillWait=5: a cancelled or timed-out job gets SIGKILL 5 s after SIGTERM
//   instead of 30, so tests end sooner; it changes no decision of the product.

export interface ClusterNames {
  cluster: string;
  login: { hostname: string; address: string };
  compute: { hostname: string; address: string; cpus: number };
  partition: string;
  /** Absolute paths of the cluster's state on this machine. */
  stateDir: string;
  spoolDir: string;
}

export function slurmConf(n: ClusterNames): string {
  return [
    `ClusterName=${n.cluster}`,
    `SlurmctldHost=${n.login.hostname}(${n.login.address})`,
    'SlurmUser=root',
    'SlurmdUser=root',
    'AuthType=auth/munge',
    'CredType=cred/munge',
    `StateSaveLocation=${n.stateDir}`,
    `SlurmdSpoolDir=${n.spoolDir}`,
    `SlurmctldPidFile=${n.stateDir}/slurmctld.pid`,
    `SlurmdPidFile=${n.spoolDir}/slurmd.pid`,
    'ProctrackType=proctrack/linuxproc',
    'TaskPlugin=task/none',
    'JobAcctGatherType=jobacct_gather/none',
    'AccountingStorageType=accounting_storage/none',
    'JobCompType=jobcomp/none',
    'MpiDefault=none',
    'SwitchType=switch/none',
    'SchedulerType=sched/backfill',
    'SelectType=select/cons_tres',
    'SelectTypeParameters=CR_CPU',
    'ReturnToService=2',
    'KillWait=5',
    'MinJobAge=300',
    'SlurmctldDebug=info',
    'SlurmdDebug=info',
    `NodeName=${n.compute.hostname} NodeAddr=${n.compute.address} CPUs=${n.compute.cpus} RealMemory=500 State=UNKNOWN`,
    `PartitionName=${n.partition} Nodes=${n.compute.hostname} Default=YES MaxTime=INFINITE State=UP`,
    '',
  ].join('\n');
}

/** The cluster's names as every node resolves them (a real cluster has DNS or this file). */
export function hostsFile(n: ClusterNames): string {
  return [
    '127.0.0.1 localhost',
    '::1 localhost ip6-localhost ip6-loopback',
    `${n.login.address} ${n.login.hostname}`,
    `${n.compute.address} ${n.compute.hostname}`,
    '',
  ].join('\n');
}
