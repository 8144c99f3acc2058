/**
 * `draws$`: every draw of a run's batches. A subscriber of its own (`run.draws$.subscribe(f)`)
 * gets each batch's draws in one loop, guarded once per batch, rather than one RxJS delivery
 * per draw (Subscriber, consumer observer and guard: three calls, each a try/catch, that
 * become megamorphic as soon as a process has other subscribers): a per-draw subscriber
 * of `simple` costs the main thread about half as much (DECISIONS.md D92). Through operators
 * (`draws$.pipe(...)`) RxJS delivers draw by draw, as for any observable.
 */
import { Observable, Subscriber, type Observer, type Subscription } from "rxjs";
import type { Draw, DrawBatch } from "../../actors/batch.js";
import { GuardedObservable, guardedSubscribe, toObserver } from "./guarded-observable.js";

export class DrawStream extends GuardedObservable<Draw> {
  constructor(
    private readonly batches: Observable<DrawBatch>,
    onThrow: (error: unknown) => void,
  ) {
    super(
      (sub) =>
        batches.subscribe({
          next: (b) => {
            for (let i = 0; i < b.count && !sub.closed; i++) sub.next(b.draw(i));
          },
          error: (e) => sub.error(e),
          complete: () => sub.complete(),
        }),
      onThrow,
    );
  }

  override subscribe(observerOrNext?: Partial<Observer<Draw>> | ((value: Draw) => void) | null, error?: ((e: unknown) => void) | null, complete?: (() => void) | null): Subscription {
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    const user = toObserver(observerOrNext, error, complete);
    if (user.next === undefined) return super.subscribe(user);
    let subscription: Subscription | undefined;
    const perBatch: Partial<Observer<DrawBatch>> = {
      // The user's `next` is called as a method of its observer, as RxJS does; unsubscribing
      // from inside it stops the batch at once.
      next: (b) => {
        for (let i = 0; i < b.count && subscription?.closed !== true; i++) user.next!(b.draw(i));
      },
      ...(user.error !== undefined ? { error: (e: unknown) => user.error!(e) } : {}),
      ...(user.complete !== undefined ? { complete: () => user.complete!() } : {}),
    };
    subscription = guardedSubscribe(perBatch, (guarded) => this.batches.subscribe(guarded), this.onThrow);
    return subscription;
  }
}
