// loadSynthetic()'s handle: a promise of the load's totals that is also an
// EventEmitter of 'progress', one per chunk generate_synthetic() reports
// in a NOTICE.

import { EventEmitter } from 'node:events';

const PROGRESS = /^generate_synthetic: (\d+) of (\d+) tasks \((\d+) %\), (\d+) runs, (\d+) gates, (\d+) artifacts, (\d+) events, ([0-9.]+) s$/;

/** A progress NOTICE as an object, or null for any other message. */
export function parseProgress(message) {
	const m = PROGRESS.exec(message);
	if (m === null)
		return null;
	return {
		tasks_done: Number(m[1]),
		tasks_total: Number(m[2]),
		percent: Number(m[3]),
		runs: Number(m[4]),
		gates: Number(m[5]),
		artifacts: Number(m[6]),
		events: Number(m[7]),
		seconds: Number(m[8]),
	};
}

export class SyntheticLoad extends EventEmitter {
	#promise;

	/** run(emitProgress) does the load; it starts on the next tick, after listeners are attached. */
	constructor(run) {
		super();
		this.#promise = Promise.resolve().then(() => run((p) => this.emit('progress', p)));
	}

	then(onFulfilled, onRejected) {
		return this.#promise.then(onFulfilled, onRejected);
	}

	catch(onRejected) {
		return this.#promise.catch(onRejected);
	}

	finally(onFinally) {
		return this.#promise.finally(onFinally);
	}
}
