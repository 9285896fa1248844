import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.js';

describe('GroupCommit', () => {
  it('batches what arrives while a flush is in flight', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const gc = new GroupCommit<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i * 10);
    });
    const first = [gc.submit(1), gc.submit(2)];
    await Promise.resolve();
    await Promise.resolve();
    const second = [gc.submit(3), gc.submit(4), gc.submit(5)];
    release();
    expect(await Promise.all([...first, ...second])).toEqual([10, 20, 30, 40, 50]);
    expect(batches).toEqual([[1, 2], [3, 4, 5]]);
    await gc.idle();
  });

  it('rejects every item of a failed batch and keeps serving', async () => {
    let fail = true;
    const gc = new GroupCommit<number, number>(async (items) => {
      if (fail) throw new Error('down');
      return items;
    });
    await expect(gc.submit(1)).rejects.toThrow('down');
    fail = false;
    expect(await gc.submit(2)).toBe(2);
  });
});
