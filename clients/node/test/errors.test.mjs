// Server errors become TaskDBError subclasses carrying SQLSTATE, message,
// detail and hint, each provoked for real where the server can be made to
// say it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import pg from 'pg';

import {
	ConflictError, ConnectionError, ExtensionNotInstalledError, InvalidInputError, NotFoundError, PermissionError,
	SerializationError, StateError, TaskDB, TaskDBError, toTaskDBError,
} from '../index.js';
import { dropDatabase, freshDatabase } from './helpers/db.mjs';

const DB = 'taskdb_node_errors';
const BARE = 'taskdb_node_errors_bare';
const ROLE = 'taskdb_node_errors_app';
const NO_TASK = '00000000-0000-4000-8000-000000000000';

let taskdb;
let raw;

before(async () => {
	await freshDatabase(DB);
	await freshDatabase(BARE, { extension: false });
	taskdb = new TaskDB({ database: DB, max: 3 });
	raw = new pg.Client({ database: DB });
	await raw.connect();
	await raw.query(`DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') THEN CREATE ROLE ${ROLE}; END IF; END $$`);
	await raw.query(`GRANT USAGE ON SCHEMA taskdb TO ${ROLE}`);
	await raw.query(`GRANT SELECT ON ALL TABLES IN SCHEMA taskdb TO ${ROLE}`);
});

after(async () => {
	await taskdb?.end();
	await raw?.end();
	await dropDatabase(DB);
	await dropDatabase(BARE);
	const c = new pg.Client({ database: 'postgres' });
	await c.connect();
	await c.query(`DROP ROLE IF EXISTS ${ROLE}`);
	await c.end();
});

/** The error fn rejects with, checked to be a TaskDBError with the server's fields and the pg error as cause. */
async function serverError(fn, Class, code) {
	let caught;
	try {
		await fn();
	} catch (err) {
		caught = err;
	}
	assert.ok(caught instanceof Class, `expected ${Class.name}, got ${caught?.name}: ${caught?.message}`);
	assert.ok(caught instanceof TaskDBError);
	assert.ok(caught instanceof Error);
	assert.equal(caught.name, Class.name);
	assert.equal(caught.code, code);
	assert.equal(caught.severity, 'ERROR');
	assert.ok(caught.cause instanceof Error, 'the node-postgres error is kept as cause');
	assert.equal(caught.message, caught.cause.message);
	return caught;
}

describe('server errors by class', () => {
	test('InvalidInputError: a value outside a list (CHECK), with detail and hint', async () => {
		const t = await taskdb.createTask({ title: 't', policy_version: '1' });
		const e = await serverError(() => taskdb.createRun({ task_id: t, status: 'bogus' }), InvalidInputError, '23514');
		assert.equal(e.message, 'invalid value "bogus" for runs.status');
		assert.equal(e.detail, 'Allowed values are: queued, running, completed, failed, cancelled.');
		assert.match(e.hint, /allowed values/);
	});

	test('InvalidInputError: NULL where a value is needed, with hint', async () => {
		const t = await taskdb.createTask({ title: 't', policy_version: '1' });
		const r = await taskdb.createRun({ task_id: t });
		const e = await serverError(() => taskdb.setRunStatus(r, null), InvalidInputError, '22004');
		assert.match(e.message, /must not be NULL/);
		assert.match(e.hint, /queued, running/);
	});

	test('InvalidInputError: not a uuid', async () => {
		await serverError(() => taskdb.statusDerived('not-a-uuid'), InvalidInputError, '22P02');
	});

	test('InvalidInputError: a malformed report', async () => {
		const e = await serverError(() => taskdb.verifyProvenance({ report_id: 'x' }), InvalidInputError, '22023');
		assert.ok(e.hint !== undefined);
	});

	test('NotFoundError: no such run (P0002), with hint', async () => {
		const e = await serverError(() => taskdb.setRunStatus(NO_TASK, 'completed'), NotFoundError, 'P0002');
		assert.equal(e.message, `run ${NO_TASK} does not exist`);
		assert.equal(e.hint, 'Pass the id returned by taskdb.create_run().');
	});

	test('NotFoundError: a run for a task that does not exist (23503)', async () => {
		const e = await serverError(() => taskdb.createRun({ task_id: NO_TASK }), NotFoundError, '23503');
		assert.equal(e.constraint, 'runs_task_id_fkey');
		assert.match(e.detail, new RegExp(NO_TASK));
	});

	test('ConflictError: loading a seed twice (23505)', async () => {
		await taskdb.loadSynthetic({ tasks: 2, runs_per_task: 0, gates_per_run: 0, artifacts: 0, seed: 77 });
		const e = await serverError(() => taskdb.loadSynthetic({ tasks: 2, seed: 77 }), ConflictError, '23505');
		assert.match(e.hint, /another seed/);
	});

	test('StateError: publishing in a transaction that has written (25001)', async () => {
		const e = await serverError(() => taskdb.transaction(async (tx) => {
			const t = await tx.createTask({ title: 't', policy_version: '1' });
			await tx.publishReport([{ kind: 'task_id', id: t }]);
		}), StateError, '25001');
		assert.ok(e.hint !== undefined);
	});

	test('PermissionError: an application role without INSERT (42501)', async () => {
		const client = await taskdb.pool.connect();
		try {
			await client.query('BEGIN');
			await client.query(`SET LOCAL ROLE ${ROLE}`);
			await serverError(() => taskdb.createTask({ title: 't', policy_version: '1' }, { client }), PermissionError, '42501');
			await client.query('ROLLBACK');
		} finally {
			client.release();
		}
	});

	test('SerializationError: two serializable transactions that cross (40001), retryable', async () => {
		const a = await taskdb.createTask({ title: 'a', policy_version: '1' });
		const b = await taskdb.createTask({ title: 'b', policy_version: '1' });
		const c1 = await taskdb.pool.connect();
		const c2 = await taskdb.pool.connect();
		try {
			await c1.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
			await c2.query('BEGIN ISOLATION LEVEL SERIALIZABLE');
			await c1.query('SELECT count(*) FROM taskdb.tasks WHERE id = $1', [b]);
			await c2.query('SELECT count(*) FROM taskdb.tasks WHERE id = $1', [a]);
			await c1.query("UPDATE taskdb.tasks SET summary = 'x' WHERE id = $1", [a]);
			await c2.query("UPDATE taskdb.tasks SET summary = 'y' WHERE id = $1", [b]);
			await c1.query('COMMIT');
			const e = await serverError(() => taskdb.statusDerived(a, { client: c2 }).then(() => c2.query('COMMIT')
				.catch((err) => { throw toTaskDBError(err); })), SerializationError, '40001');
			assert.equal(e.retryable, true);
		} finally {
			await c2.query('ROLLBACK').catch(() => {});
			c1.release();
			c2.release();
		}
	});

	test('ExtensionNotInstalledError: a database without taskdb, with a hint', async () => {
		const bare = new TaskDB({ database: BARE, max: 1 });
		try {
			const e = await serverError(() => bare.statusDerived(NO_TASK), ExtensionNotInstalledError, '3F000');
			assert.match(e.hint, /CREATE EXTENSION taskdb/);
		} finally {
			await bare.end();
		}
	});

	test('other server errors are TaskDBError with their SQLSTATE: a statement timeout (57014)', async () => {
		const client = await taskdb.pool.connect();
		try {
			await client.query('BEGIN');
			await client.query("SET LOCAL statement_timeout = '50ms'");
			const e = await serverError(() => taskdb.loadSynthetic({ tasks: 100000, seed: 5 }, { client }), TaskDBError, '57014');
			assert.equal(e.constructor, TaskDBError);
			await client.query('ROLLBACK');
		} finally {
			client.release();
		}
	});
});

describe('connection errors', () => {
	test('no server there: ConnectionError, no SQLSTATE, the socket error as cause', async () => {
		const nowhere = new TaskDB({ host: '/nonexistent-taskdb-socket-dir', port: 1, max: 1, connectionTimeoutMillis: 2000 });
		try {
			let caught;
			try {
				await nowhere.exportHash();
			} catch (err) {
				caught = err;
			}
			assert.ok(caught instanceof ConnectionError, `got ${caught?.name}: ${caught?.message}`);
			assert.equal(caught.code, undefined);
			assert.ok(caught.cause instanceof Error);
		} finally {
			await nowhere.end();
		}
	});

	test('a backend terminated mid-session: ConnectionError (57P01)', async () => {
		const client = new pg.Client({ database: DB });
		client.on('error', () => {});
		await client.connect();
		const { rows: [{ pid }] } = await client.query('SELECT pg_backend_pid() AS pid');
		await raw.query('SELECT pg_terminate_backend($1)', [pid]);
		let caught;
		try {
			await taskdb.statusDerived(NO_TASK, { client });
		} catch (err) {
			caught = err;
		}
		assert.ok(caught instanceof ConnectionError, `got ${caught?.name}: ${caught?.message}`);
		await client.end().catch(() => {});
	});
});

describe('toTaskDBError', () => {
	test('maps by SQLSTATE and leaves other errors alone', () => {
		const pgErr = (code) => Object.assign(new Error('m'), { code, severity: 'ERROR', detail: 'd', hint: 'h' });
		assert.ok(toTaskDBError(pgErr('40P01')) instanceof SerializationError);
		assert.ok(toTaskDBError(pgErr('08006')) instanceof ConnectionError);
		assert.ok(toTaskDBError(pgErr('57P01')) instanceof ConnectionError);
		assert.ok(toTaskDBError(pgErr('42883')) instanceof TaskDBError);
		assert.ok(toTaskDBError(Object.assign(new Error('function taskdb.x() does not exist'), { code: '42883', severity: 'ERROR' }))
			instanceof ExtensionNotInstalledError);
		const e = toTaskDBError(pgErr('XX000'));
		assert.equal(e.constructor, TaskDBError);
		assert.deepEqual([e.code, e.detail, e.hint], ['XX000', 'd', 'h']);
		const te = new TypeError('mine');
		assert.equal(toTaskDBError(te), te);
		assert.equal(toTaskDBError(e), e);
	});
});
