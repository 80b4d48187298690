/**
 * Group commit for work that talks to Redis: while one group is in flight, the work that arrives
 * waits and then starts together as the next group, so its commands leave in the same socket
 * writes and its replies come back in the same reads. Under a burst that is one system call per
 * step for the whole group instead of one per request; a lone request starts at the end of the
 * current event-loop turn. A group that takes longer than `maxWaitMs` (Redis reconnecting) does not
 * hold back the next one beyond that.
 */
export class GroupCommit {
  private waiting: Array<() => Promise<unknown>> = [];
  private inFlight = false;
  private scheduled = false;

  constructor(private readonly maxWaitMs = 25) {}

  /** Runs `work` with the next group; `work` must not reject (it answers its own errors). */
  add(work: () => Promise<unknown>): void {
    this.waiting.push(work);
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.startGroup());
  }

  private startGroup(): void {
    this.scheduled = false;
    const group = this.waiting;
    this.waiting = [];
    this.inFlight = true;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      this.inFlight = false;
      if (this.waiting.length > 0) this.startGroup();
    };
    const timer = setTimeout(release, this.maxWaitMs);
    void Promise.allSettled(group.map((work) => work())).then(release);
  }
}
