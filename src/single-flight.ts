/**
 * `work` as a function that never runs twice at once: called while a run is in progress, it
 * answers with that run. For periodic rounds that must not pile up when one is slow.
 */
export function singleFlight(work: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  return () => (running ??= work().finally(() => {
    running = null;
  }));
}
