import { once, type EventEmitter } from 'node:events';

/** A promise with its settle functions exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve: (v: T) => void = () => {};
  let reject: (e: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Resolves with the arguments of the next `count` emissions of `event` (listening starts now). */
export function nextEvents<T>(emitter: EventEmitter, event: string, count: number): Promise<T[]> {
  const seen: T[] = [];
  return new Promise((resolve) => {
    const on = (arg: T): void => {
      seen.push(arg);
      if (seen.length < count) return;
      emitter.off(event, on);
      resolve(seen);
    };
    emitter.on(event, on);
  });
}

/** The first argument of the next emission of `event`. */
export async function nextEvent<T>(emitter: EventEmitter, event: string): Promise<T> {
  const [arg] = (await once(emitter, event)) as [T];
  return arg;
}
