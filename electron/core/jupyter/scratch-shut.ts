import { KernelClient } from './kernel-client';
import { startTestKernel } from './test-kernel';
let bad = 0;
for (let i = 0; i < 30; i++) {
  const [k, k2] = await Promise.all([startTestKernel(), startTestKernel()]);
  const c = new KernelClient(k.info);
  await c.heartbeat(5000);
  const ok = await c.shutdown({ restart: false, timeoutMs: 5000 });
  const r = await k.exited;
  if (r.code !== 0 || !ok) { bad++; console.log(i, ok, r, k.output()); }
  c.close(); await k.kill(); await k2.kill();
}
console.log('bad', bad);
