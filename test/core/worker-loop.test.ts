import { createWorkerLoop } from "@taskmesh/core";
import { describe, expect, it } from "vitest";

const tick = (ms = 20) => new Promise((resolve) => setTimeout(resolve, ms));

describe("createWorkerLoop", () => {
  it("when a round asks to go on at once, then the next round runs without waiting; otherwise it waits its delay", async () => {
    let rounds = 0;
    const loop = createWorkerLoop({
      round: () => Promise.resolve(++rounds < 3 ? 0 : 60_000),
    });
    loop.start();
    await tick();
    expect(rounds).toBe(3);
    await loop.stop();
    expect(rounds).toBe(3);
  });

  it("when woken while waiting, then the next round runs at once; a wake-up during a round skips the wait after it", async () => {
    let rounds = 0;
    let release: (() => void) | undefined;
    const loop = createWorkerLoop({
      round: async () => {
        rounds++;
        if (rounds === 2) await new Promise<void>((resolve) => (release = resolve));
        return 60_000;
      },
    });
    loop.start();
    await tick();
    expect(rounds).toBe(1);
    loop.wake();
    await tick();
    expect(rounds).toBe(2);
    loop.wake(); // round 2 is in flight
    release?.();
    await tick();
    expect(rounds).toBe(3);
    await loop.stop();
  });

  it("when a round fails, then onError's delay is waited and the loop goes on", async () => {
    const errors: unknown[] = [];
    let rounds = 0;
    const loop = createWorkerLoop({
      round: () => (++rounds === 1 ? Promise.reject(new Error("database down")) : Promise.resolve(60_000)),
      onError: (error) => {
        errors.push(error);
        return 1;
      },
    });
    loop.start();
    await tick();
    expect(errors).toHaveLength(1);
    expect(rounds).toBe(2);
    await loop.stop();
  });

  it("when stopped, then it resolves after the round in flight and runs no more; a first-round delay is cut short", async () => {
    let rounds = 0;
    let finished = false;
    const loop = createWorkerLoop({
      firstRoundAfterMs: 60_000,
      round: async () => {
        rounds++;
        await tick(30);
        finished = true;
        return 0;
      },
    });
    loop.start();
    await tick();
    expect(rounds).toBe(0);
    await loop.stop();
    expect(rounds).toBe(0);
    expect(loop.running).toBe(false);

    const busy = createWorkerLoop({
      round: async () => {
        rounds++;
        await tick(30);
        finished = true;
        return 0;
      },
    });
    busy.start();
    await tick(5);
    await busy.stop();
    expect(finished).toBe(true);
    const after = rounds;
    await tick(50);
    expect(rounds).toBe(after);
  });

  it("when it has several lanes, then one wake-up wakes one waiting lane", async () => {
    let rounds = 0;
    const loop = createWorkerLoop({ lanes: 3, round: () => Promise.resolve((rounds++, 60_000)) });
    loop.start();
    await tick();
    expect(rounds).toBe(3);
    loop.wake();
    await tick();
    expect(rounds).toBe(4);
    await loop.stop();
  });
});
