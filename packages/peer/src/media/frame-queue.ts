/**
 * A bounded queue between a media pipeline (which must never wait) and its consumer (an async iterator, which may be
 * slow). Past `capacity` the oldest item is dropped and counted: for video that gives the newest frame, for audio a
 * bounded delay instead of unbounded memory.
 */
export class FrameQueue<T> implements AsyncIterable<T> {
  /** Items dropped because the consumer fell `capacity` items behind. */
  dropped = 0;
  private readonly items: T[] = [];
  private waiter: ((result: IteratorResult<T>) => void) | undefined;
  private ended = false;

  constructor(private readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  push(item: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const wake = this.waiter;
      this.waiter = undefined;
      wake({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (this.items.length > this.capacity) {
      this.items.shift();
      this.dropped++;
    }
  }

  /** No more items: a waiting consumer gets the ones queued, then the end. */
  end(): void {
    this.ended = true;
    if (this.waiter && this.items.length === 0) {
      const wake = this.waiter;
      this.waiter = undefined;
      wake({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    const item = this.items.shift();
    if (item !== undefined) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiter) return Promise.reject(new Error("one consumer at a time: await the previous next() first"));
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
      // Leaving a for-await loop early ends the queue; the producer sees `closed` and stops.
      return: () => {
        this.end();
        this.items.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  get closed(): boolean {
    return this.ended;
  }
}
