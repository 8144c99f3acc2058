/**
 * Observables whose subscribers cannot hurt the run. RxJS's convention for an error thrown by
 * a subscriber's callback (or an error nobody handles) is to rethrow it asynchronously, where
 * it becomes an uncaught exception and ends the process (unless `config.onUnhandledError`, a
 * process-wide setting, says otherwise). A run's streams contain it instead: the subscriber
 * that threw is unsubscribed and the error is handed to `onThrow` (the run reports it on
 * `events$`); the run and the other subscribers go on (DECISIONS.md D31).
 *
 * The guard sits on every subscription the user makes, through operators too: `lift` (what
 * RxJS's pipeable operators call) keeps the class, so `run.draws$.pipe(map(f)).subscribe(g)`
 * is guarded at `g`, and an error thrown in `f` reaches `g`'s error callback as usual or,
 * without one, `onThrow`. Subscriptions RxJS makes internally (a `Subscriber`) pass through
 * untouched. RxJS's global configuration is not touched.
 */
import { Observable, Subscriber, type Observer, type Operator, type Subject, type Subscription, type TeardownLogic } from "rxjs";

export class GuardedObservable<T> extends Observable<T> {
  constructor(
    subscribe: ((subscriber: Subscriber<T>) => TeardownLogic) | undefined,
    protected readonly onThrow: (error: unknown) => void,
  ) {
    super(subscribe);
  }

  override lift<R>(operator?: Operator<T, R>): Observable<R> {
    const lifted = new GuardedObservable<R>(undefined, this.onThrow);
    // What Observable.prototype.lift does, keeping this class (so the guard reaches the end of a pipe).
    lifted.source = this;
    lifted.operator = operator;
    return lifted;
  }

  override subscribe(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null, error?: ((e: unknown) => void) | null, complete?: (() => void) | null): Subscription {
    if (observerOrNext instanceof Subscriber) return super.subscribe(observerOrNext);
    return guardedSubscribe(toObserver(observerOrNext, error, complete), (guarded) => super.subscribe(guarded), this.onThrow);
  }
}

/** The observer that `subscribe`'s arguments describe. */
export function toObserver<T>(observerOrNext?: Partial<Observer<T>> | ((value: T) => void) | null, error?: ((e: unknown) => void) | null, complete?: (() => void) | null): Partial<Observer<T>> {
  return typeof observerOrNext === "function" || observerOrNext == null
    ? { next: observerOrNext ?? undefined, error: error ?? undefined, complete: complete ?? undefined }
    : observerOrNext;
}

/**
 * Subscribes `user` (through `subscribe`) with every callback guarded: the first one that
 * throws unsubscribes it and goes to `onThrow`; an error with no error callback too.
 */
export function guardedSubscribe<T>(user: Partial<Observer<T>>, subscribe: (guarded: Partial<Observer<T>>) => Subscription, onThrow: (error: unknown) => void): Subscription {
  let subscription: Subscription | undefined;
  let dropped = false;
  const drop = (e: unknown): void => {
    if (dropped) return;
    dropped = true;
    subscription?.unsubscribe();
    onThrow(e);
  };
  const guarded: Partial<Observer<T>> = {
    error: (e) => {
      if (dropped) return;
      if (user.error === undefined) return drop(e);
      try {
        user.error(e);
      } catch (thrown) {
        drop(thrown);
      }
    },
    complete: () => {
      if (dropped || user.complete === undefined) return;
      try {
        user.complete();
      } catch (thrown) {
        drop(thrown);
      }
    },
  };
  if (user.next !== undefined) {
    guarded.next = (value) => {
      if (dropped) return;
      try {
        user.next!(value);
      } catch (thrown) {
        drop(thrown);
      }
    };
  }
  subscription = subscribe(guarded);
  // It threw while values were replayed during `subscribe`, before `subscription` existed.
  if (dropped) subscription.unsubscribe();
  return subscription;
}

/** What a dropped subscriber's error becomes on a run's `events$`. */
export interface SubscriberErrorEvent<S extends string> {
  readonly type: "subscriber-error";
  readonly stream: S;
  readonly message: string;
  readonly error: unknown;
}

/**
 * A run's guarded streams and where their dropped subscribers are reported: as a
 * `subscriber-error` event on `events`, after the emission in progress (in order), and before
 * the events complete (`flush`, called by whoever completes them).
 */
export class SubscriberErrors<S extends string, E> {
  private readonly pending: SubscriberErrorEvent<S>[] = [];

  constructor(private readonly events: Subject<E | SubscriberErrorEvent<S>>) {}

  /** `subscribe` guarded: a subscriber that throws is dropped and reported as one of `stream`. */
  guard<T>(stream: S, subscribe: (subscriber: Subscriber<T>) => TeardownLogic): Observable<T> {
    return new GuardedObservable<T>(subscribe, this.reporter(stream));
  }

  /** The `onThrow` of a guarded observable of `stream`. */
  reporter(stream: S): (error: unknown) => void {
    return (error) => {
      this.pending.push({ type: "subscriber-error", stream, message: error instanceof Error ? error.message : String(error), error });
      if (this.pending.length === 1) queueMicrotask(() => this.flush());
    };
  }

  flush(): void {
    for (const e of this.pending.splice(0)) if (!this.events.closed && !this.events.isStopped) this.events.next(e);
  }
}
