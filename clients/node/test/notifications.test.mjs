// Status-change notifications through onStatusChange(): one per committed
// change of status_derived, none for a rollback or a commit that changes
// nothing, in commit order per task.  The database has
// taskdb.notify_status_changes on for every session (ALTER DATABASE SET).
//
// "None" is checked without sleeping: notifications arrive in commit order,
// so after the action that must send nothing, a marker task changes, and the
// next notification received must be the marker's.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import pg from 'pg';

import { STATUS_CHANNEL, TaskDB, TimeoutError, NotFoundError, parseStatusChange } from '../index.js';
import { dropDatabase, freshDatabase } from './helpers/db.mjs';

const DB = 'taskdb_node_notify';
const WAIT_MS = 10000;

let taskdb;
let sub;
const queue = [];
let wake = null;

function received(change) {
	queue.push(change);
	wake?.();
}

/** The next notification, or a failure after WAIT_MS. */
async function next() {
	const until = Date.now() + WAIT_MS;
	while (queue.length === 0) {
		const left = until - Date.now();
		if (left <= 0)
			assert.fail(`no notification within ${WAIT_MS} ms`);
		let timer;
		await new Promise((resolve) => {
			wake = resolve;
			timer = setTimeout(resolve, left);
		});
		clearTimeout(timer);
		wake = null;
	}
	return queue.shift();
}

/** Nothing arrives before the marker task's change. */
async function nothingBeforeMarker() {
	const marker = await taskdb.createTask({ title: 'marker', policy_version: '1' });
	await taskdb.createRun({ task_id: marker, status: 'running' });
	assert.deepEqual(await next(), { task_id: marker, old_status: 'pending', new_status: 'in_progress' });
}

const newTask = (title = 't') => taskdb.createTask({ title, policy_version: '1' });

before(async () => {
	await freshDatabase(DB, { settings: { 'taskdb.notify_status_changes': 'on' } });
	taskdb = new TaskDB({ database: DB, max: 12 });
	sub = await taskdb.onStatusChange(received);
});

after(async () => {
	await sub?.close();
	await taskdb?.end();
	await dropDatabase(DB);
});

describe('onStatusChange', () => {
	test('a committed change: one notification, with task id, old and new status', async () => {
		const t = await newTask();
		const r = await taskdb.createRun({ task_id: t, status: 'running' });
		assert.deepEqual(await next(), { task_id: t, old_status: 'pending', new_status: 'in_progress' });
		await taskdb.setRunStatus(r, 'completed');
		assert.deepEqual(await next(), { task_id: t, old_status: 'in_progress', new_status: 'completed' });
		const g = await taskdb.createGate({ run_id: r, name: 'lint', type: 'lint', status: 'fail' });
		assert.deepEqual(await next(), { task_id: t, old_status: 'completed', new_status: 'blocked' });
		await taskdb.setGateStatus(g, 'pass');
		assert.deepEqual(await next(), { task_id: t, old_status: 'blocked', new_status: 'completed' });
		await taskdb.createRun({ task_id: t, status: 'failed' });
		assert.deepEqual(await next(), { task_id: t, old_status: 'completed', new_status: 'failed' });
		await nothingBeforeMarker();
	});

	test('a rolled-back change: none', async () => {
		const t = await newTask();
		await assert.rejects(taskdb.transaction(async (tx) => {
			await tx.createRun({ task_id: t, status: 'running' });
			assert.equal(await tx.statusDerived(t), 'in_progress');
			throw new Error('roll back');
		}), /roll back/);
		const client = await taskdb.pool.connect();
		try {
			await client.query('BEGIN');
			await taskdb.createRun({ task_id: t, status: 'failed' }, { client });
			await client.query('ROLLBACK');
		} finally {
			client.release();
		}
		await nothingBeforeMarker();
		assert.equal(await taskdb.statusDerived(t), 'pending');
	});

	test('a commit that leaves status_derived as it was: none', async () => {
		const t = await newTask();
		await taskdb.createRun({ task_id: t, status: 'running' });
		assert.deepEqual(await next(), { task_id: t, old_status: 'pending', new_status: 'in_progress' });
		await taskdb.createRun({ task_id: t, status: 'running' });		// still in_progress
		const r = await taskdb.createRun({ task_id: t, status: 'queued' });
		await taskdb.setRunStatus(r, 'cancelled');						// counters unchanged
		await taskdb.createTask({ title: 'no runs', policy_version: '1' });	// a new task stays pending
		await nothingBeforeMarker();
	});

	test('one transaction, several tasks: one notification each', async () => {
		const [a, b, c] = [await newTask('a'), await newTask('b'), await newTask('c')];
		await taskdb.transaction(async (tx) => {
			await tx.createRun({ task_id: a, status: 'running' });
			await tx.createRun({ task_id: b, status: 'completed' });
			await tx.createRun({ task_id: c, status: 'failed' });
			await tx.createRun({ task_id: c, status: 'running' });
		});
		const got = [await next(), await next(), await next()];
		got.sort((x, y) => x.task_id.localeCompare(y.task_id));		// the server sends them in task_id order
		const want = [
			{ task_id: a, old_status: 'pending', new_status: 'in_progress' },
			{ task_id: b, old_status: 'pending', new_status: 'completed' },
			{ task_id: c, old_status: 'pending', new_status: 'failed' },
		].sort((x, y) => x.task_id.localeCompare(y.task_id));
		assert.deepEqual(got, want);
		await nothingBeforeMarker();
	});

	test('a session with the setting off sends none', async () => {
		const t = await newTask();
		const client = await taskdb.pool.connect();
		try {
			await client.query('SET taskdb.notify_status_changes = off');
			await taskdb.createRun({ task_id: t, status: 'running' }, { client });
			await client.query('RESET taskdb.notify_status_changes');
		} finally {
			client.release();
		}
		await nothingBeforeMarker();
	});

	test('concurrent writers on one task: commit order, each old_status the previous new_status', { timeout: 60000 }, async () => {
		const hot = await newTask('hot');
		const WRITERS = 10;
		const STEPS = 30;
		const runs = [];
		for (let w = 0; w < WRITERS; w++)
			runs.push(await taskdb.createRun({ task_id: hot, status: 'queued' }));
		assert.deepEqual(await next(), { task_id: hot, old_status: 'pending', new_status: 'blocked' });
		const statuses = ['queued', 'running', 'completed', 'failed', 'cancelled'];
		let seed = 12345;
		const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
		await Promise.all(runs.map(async (run) => {
			for (let i = 0; i < STEPS; i++)
				await taskdb.setRunStatus(run, statuses[Math.floor(random() * statuses.length)]);
		}));
		const final = await taskdb.statusDerived(hot);
		const marker = await newTask('marker');
		await taskdb.createRun({ task_id: marker, status: 'completed' });
		let previous = 'blocked';
		let changes = 0;
		for (;;) {
			const c = await next();
			if (c.task_id === marker)
				break;
			assert.equal(c.task_id, hot);
			assert.equal(c.old_status, previous, `notification ${changes + 1}: old_status is the previous new_status`);
			assert.notEqual(c.new_status, c.old_status);
			previous = c.new_status;
			changes++;
		}
		assert.equal(previous, final, 'the last notification is the status the task ended with');
		assert.ok(changes > 10, `${changes} changes notified`);
	});

	test('taskId filters; close() stops the callbacks', async () => {
		const [a, b] = [await newTask('a'), await newTask('b')];
		const onlyB = [];
		const filtered = await taskdb.onStatusChange((c) => onlyB.push(c), { taskId: [b] });
		assert.equal(filtered.connected, true);
		await taskdb.createRun({ task_id: a, status: 'running' });
		await taskdb.createRun({ task_id: b, status: 'running' });
		assert.equal((await next()).task_id, a);
		assert.equal((await next()).task_id, b);
		await nothingBeforeMarker();				// filtered has received by now too
		assert.deepEqual(onlyB, [{ task_id: b, old_status: 'pending', new_status: 'in_progress' }]);
		await filtered.close();
		assert.equal(filtered.connected, false);
		await taskdb.createRun({ task_id: b, status: 'failed' });
		assert.equal((await next()).task_id, b);
		await nothingBeforeMarker();
		assert.equal(onlyB.length, 1);
	});

	test('a payload that is not taskdb\'s is reported as malformed, not delivered', async () => {
		const odd = [];
		sub.on('malformed', (p) => odd.push(p));
		const c = new pg.Client({ database: DB });
		await c.connect();
		await c.query('SELECT pg_notify($1, $2)', [STATUS_CHANNEL, '{"task_id": 1}']);
		await c.query('SELECT pg_notify($1, $2)', [STATUS_CHANNEL, 'not json']);
		await c.end();
		await nothingBeforeMarker();
		assert.deepEqual(odd, ['{"task_id": 1}', 'not json']);
		sub.removeAllListeners('malformed');
		assert.equal(parseStatusChange('{"task_id":"x","old_status":null,"new_status":"failed"}').old_status, null);
		assert.equal(parseStatusChange('{"task_id":"x","old_status":"done","new_status":"failed"}'), null);
	});
});

describe('waitForStatus', () => {
	test('resolves when the task reaches one of the statuses', async () => {
		const t = await newTask();
		const r = await taskdb.createRun({ task_id: t, status: 'running' });
		const waiting = taskdb.waitForStatus(t, ['completed', 'failed'], { timeoutMs: WAIT_MS });
		await new Promise((resolve) => setTimeout(resolve, 50));
		await taskdb.setRunStatus(r, 'completed');
		assert.equal(await waiting, 'completed');
		assert.equal(await taskdb.waitForStatus(t, 'completed', { timeoutMs: WAIT_MS }), 'completed', 'already there');
		queue.length = 0;
	});

	test('times out, and refuses an unknown task', async () => {
		const t = await newTask();
		await assert.rejects(taskdb.waitForStatus(t, 'completed', { timeoutMs: 200 }), TimeoutError);
		await assert.rejects(taskdb.waitForStatus('00000000-0000-4000-8000-000000000000', 'completed', { timeoutMs: 1000 }),
			NotFoundError);
		await assert.rejects(taskdb.onStatusChange('not a function'), { name: 'TypeError' });
	});
});
