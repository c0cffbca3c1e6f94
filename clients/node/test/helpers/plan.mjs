// What the original plan's tests were written with: expect(x).toBe(y), and
// test bodies that call this.taskdb, this.runWriter, ... on a harness.
import assert from 'node:assert/strict';

export function expect(actual) {
	return {
		toBe: (expected) => assert.strictEqual(actual, expected),
		toEqual: (expected) => assert.deepStrictEqual(actual, expected),
		toBeGreaterThan: (n) => assert.ok(actual > n, `expected ${actual} > ${n}`),
		toBeLessThanOrEqual: (n) => assert.ok(actual <= n, `expected ${actual} <= ${n}`),
		toMatch: (re) => assert.match(actual, re),
	};
}

/** A test body written as function () { ... this.x ... }, with this = harness. */
export function bound(harness, body) {
	return () => body.call(harness);
}
