import { afterEach, beforeEach, expect, vi } from "vitest";

/**
 * Replaces `process.exit` for the tests of this file with a throw that records the call,
 * and fails a test during which it was called: hostile strings here end the process if run.
 */
export function guardProcessExit(): void {
  let calls: unknown[] = [];
  beforeEach(() => {
    calls = [];
    vi.spyOn(process, "exit").mockImplementation(((code?: number) => {
      calls.push(code);
      throw new Error(`process.exit(${code}) was called`);
    }) as never);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    expect(calls, "injected code ran").toEqual([]);
  });
}

/** The error `f` throws; fails the test when it throws none. */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error, got none");
}
