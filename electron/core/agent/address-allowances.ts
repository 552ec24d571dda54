// Addresses other than its host's loopback that a kernel's channels may be
// forwarded to. Kernel Tray forwards only to a host's own loopback or unix
// sockets; an allowance, remembered per kernel, lets one kernel be reached at
// another address as seen from its host. The user grants one with
// `ktray attach ID --allow-address ADDR`; agent code that attaches kernels at
// node addresses through a login node (Slurm) grants its own the same way.
import type { Persisted } from './persisted';

export class AddressAllowances {
  constructor(private readonly persisted: Persisted) {}

  /** The addresses allowed for this kernel. */
  of(id: string): readonly string[] {
    return this.persisted.state.allowedAddresses[id] ?? [];
  }

  /** Allows `address` for this kernel, and remembers it. */
  async allow(id: string, address: string): Promise<void> {
    const { state } = this.persisted;
    const now = state.allowedAddresses[id] ?? [];
    if (now.includes(address)) return;
    state.allowedAddresses[id] = [...now, address];
    await this.persisted.save();
  }

  /** Kernels whose files are gone take their allowances with them (a reused pid-named id must not inherit one). Unsaved: true when something changed. */
  forget(ids: Iterable<string>): boolean {
    const { state } = this.persisted;
    let changed = false;
    for (const id of ids) {
      if (!(id in state.allowedAddresses)) continue;
      delete state.allowedAddresses[id];
      changed = true;
    }
    return changed;
  }
}
