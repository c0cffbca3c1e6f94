// onStatusChange() keeps listening across a server restart and a crash:
// the connection is lost, reopened, and a later change is delivered.  On a
// throwaway cluster of its own (helpers/cluster.mjs), never the suite's.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import pg from 'pg';

import { TaskDB } from '../index.js';
import { startCluster } from './helpers/cluster.mjs';

const WAIT_MS = 30000;

let cluster;
let taskdb;

/** The promise of emitter's next `event`, or a failure after WAIT_MS. */
function within(promise, what) {
	let timer;
	return Promise.race([
		promise.finally(() => clearTimeout(timer)),
		new Promise((_, reject) => {
			timer = setTimeout(() => reject(new Error(`${what}: nothing within ${WAIT_MS} ms`)), WAIT_MS);
		}),
	]);
}

before(async () => {
	cluster = await startCluster();
	const c = new pg.Client(cluster.connection);
	await c.connect();
	await c.query('CREATE EXTENSION taskdb');
	await c.query('ALTER DATABASE postgres SET taskdb.notify_status_changes = on');
	await c.end();
	taskdb = new TaskDB({ ...cluster.connection, max: 2 });
});

after(async () => {
	await taskdb?.end();
	await cluster?.destroy();
});

/** Retries fn while the server is still coming up (bounded). */
async function whenUp(fn) {
	const until = Date.now() + WAIT_MS;
	for (;;) {
		try {
			return await fn();
		} catch (err) {
			if (err.name !== 'ConnectionError' || Date.now() > until)
				throw err;
			await new Promise((resolve) => setTimeout(resolve, 100));
		}
	}
}

describe('notifications across restarts', { timeout: 120000 }, () => {
	test('a restart and a crash: the listener reconnects and later changes are delivered', async () => {
		const changes = [];
		let arrived = null;
		const sub = await taskdb.onStatusChange((c) => {
			changes.push(c);
			arrived?.();
		}, { reconnect: { minDelayMs: 50, maxDelayMs: 500 } });
		const disconnects = [];
		sub.on('disconnect', (err) => disconnects.push(err));
		const nextChange = () => within(new Promise((resolve) => {
			arrived = resolve;
		}), 'a notification');
		try {
			const t = await taskdb.createTask({ title: 'survivor', policy_version: '1' });
			let got = nextChange();
			const r = await taskdb.createRun({ task_id: t, status: 'running' });
			await got;
			assert.deepEqual(changes.at(-1), { task_id: t, old_status: 'pending', new_status: 'in_progress' });

			// 1. A clean restart (pg_ctl restart -m fast).
			let reconnected = within(once(sub, 'reconnect'), 'reconnect after the restart');
			await cluster.restart();
			await reconnected;
			assert.equal(disconnects.length, 1);
			assert.equal(disconnects[0].name, 'ConnectionError');
			got = nextChange();
			await whenUp(() => taskdb.setRunStatus(r, 'completed'));
			await got;
			assert.deepEqual(changes.at(-1), { task_id: t, old_status: 'in_progress', new_status: 'completed' });

			// 2. A crash: SIGKILL to the postmaster and its children, then start.
			reconnected = within(once(sub, 'reconnect'), 'reconnect after the crash');
			const killed = await cluster.kill9();
			assert.ok(killed >= 2, `${killed} processes killed`);
			await cluster.start();
			await reconnected;
			assert.equal(disconnects.length, 2);
			got = nextChange();
			await whenUp(() => taskdb.createGate({ run_id: r, name: 'g', type: 'lint', status: 'fail' }));
			await got;
			assert.deepEqual(changes.at(-1), { task_id: t, old_status: 'completed', new_status: 'blocked' });
			assert.equal(changes.length, 3);
		} finally {
			await sub.close();
		}
	});

	test('waitForStatus reads again after reconnecting: a change made while it was away is not missed', async () => {
		const t = await whenUp(() => taskdb.createTask({ title: 'waited for', policy_version: '1' }));
		const r = await taskdb.createRun({ task_id: t, status: 'running' });
		const waiting = taskdb.waitForStatus(t, 'completed', { timeoutMs: WAIT_MS });
		await new Promise((resolve) => setTimeout(resolve, 200));		// listening by now
		await cluster.kill9();
		await cluster.start();
		await whenUp(() => taskdb.setRunStatus(r, 'completed'));
		assert.equal(await waiting, 'completed');
	});
});
