import { useEffect, useState } from 'react';

/**
 * A clock for durations on screen (busy for 12s, up 3m). It only redraws;
 * kernel states themselves come pushed from the agent.
 */
export function useNow(active: boolean, intervalMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [active, intervalMs]);
  return now;
}
