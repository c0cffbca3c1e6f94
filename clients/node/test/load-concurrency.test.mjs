// The original plan's tests/load-concurrency.test.mjs, through the client,
// at the plan's sizes: 100 writers x 1000 operations with no loss, and 50
// concurrent publications with unique verification_snapshot_ts.  The test
// bodies are the plan's; `this` is the harness below (the plan's
// this.taskdb, this.runWriter, this.publishReport).
import { after, before, describe, test } from 'node:test';

import pg from 'pg';

import { TaskDB, TaskPriority } from '../index.js';
import { dropDatabase, freeConnections, freshDatabase } from './helpers/db.mjs';
import { bound, expect } from './helpers/plan.mjs';

const DB = 'taskdb_node_load';
const WRITER_DEADLINE_MS = 200000;		// a writer that takes longer fails the test instead of hanging
const PRIORITIES = Object.values(TaskPriority);

const harness = {
	taskdb: null,
	raw: null,
	reportTasks: [],

	/** The plan's writer: `operations` createTask calls, one after the other, each its own transaction. */
	async runWriter(name, operations) {
		const deadline = Date.now() + WRITER_DEADLINE_MS;
		let created = 0;
		for (let i = 0; i < operations; i++) {
			if (Date.now() > deadline)
				throw new Error(`${name}: only ${created} of ${operations} operations within ${WRITER_DEADLINE_MS} ms`);
			await this.taskdb.createTask({
				title: `${name} task ${i}`,
				description: 'Generated task for load testing',
				priority: PRIORITIES[i % PRIORITIES.length],
				policy_version: '1.1.0',
				owner: name,
			});
			created++;
		}
		return { writer: name, created };
	},

	/** A report named `name` on one of the tasks prepared for it: the task, one run and the derived status. */
	async publishReport(name) {
		const i = Number(name.split('-').at(-1));
		const { task, run } = this.reportTasks[i % this.reportTasks.length];
		return this.taskdb.publishReport([
			{ kind: 'task_id', id: task },
			{ kind: 'run_id', id: run },
			{ kind: 'status_derived', id: task, expected: 'completed' },
		]);
	},
};

before(async () => {
	await freshDatabase(DB);
	const free = await freeConnections({ database: DB });
	const max = Math.max(10, Math.min(100, free));
	console.log(`pool of ${max} connections (${free} free on the server)`);
	harness.taskdb = new TaskDB({ database: DB, max });
	harness.raw = new pg.Client({ database: DB });
	await harness.raw.connect();
	for (let i = 0; i < 10; i++) {
		const task = await harness.taskdb.createTask({ title: `report target ${i}`, policy_version: '1.1.0', owner: 'reports' });
		const run = await harness.taskdb.createRun({ task_id: task, status: 'completed' });
		harness.reportTasks.push({ task, run });
	}
});

after(async () => {
	await harness.taskdb?.end();
	await harness.raw?.end();
	await dropDatabase(DB);
});

describe('TaskDB Concurrencia', () => {
	test('Concurrencia de escrituras (N=100 writers)', { timeout: 240000 }, bound(harness, async function () {
		const writers = 100;
		const operations = 1000;
		const before = (await this.taskdb.getSystemStats()).total_tasks;
		const start = Date.now();

		const promises = Array.from({ length: writers }, (_, i) =>
			this.runWriter(`writer-${i}`, operations)
		);

		const results = await Promise.all(promises);
		const seconds = (Date.now() - start) / 1000;
		console.log(`${writers} writers x ${operations} createTask: ${seconds.toFixed(1)} s, ` +
			`${Math.round(writers * operations / seconds)} tasks/s`);

		// Verificar que no hay pérdidas
		const finalStats = await this.taskdb.getSystemStats();
		expect(finalStats.total_tasks - before).toBe(writers * operations);

		// ... and none per writer, every task with its summary row, no drift.
		expect(results.every((r) => r.created === operations)).toBe(true);
		const { rows } = await this.raw.query(`SELECT owner, count(*)::int AS n FROM taskdb.tasks
			WHERE owner LIKE 'writer-%' GROUP BY owner`);
		expect(rows.length).toBe(writers);
		expect(rows.every((r) => r.n === operations)).toBe(true);
		expect(finalStats.status_derived.pending).toBe(writers * operations);
		const doctor = await this.taskdb.doctor.runDiagnostics();
		expect(doctor.checks.find((c) => c.name === 'summary_drift').status).toBe('pass');
	}));

	test('Validación de publicación concurrente', { timeout: 60000 }, bound(harness, async function () {
		const reports = 50;
		const promises = Array.from({ length: reports }, (_, i) =>
			this.publishReport(`report-${i}`)
		);

		const results = await Promise.all(promises);

		// Verificar que todas las publicaciones tienen snapshot_ts único
		const timestamps = results.map(r => r.verification_snapshot_ts);
		const uniqueTimestamps = new Set(timestamps);
		expect(uniqueTimestamps.size).toBe(timestamps.length);

		// ... and each is stored and verifies, every claim and the signature.
		expect(timestamps.length).toBe(reports);
		const verdicts = await Promise.all(results.map((r) => this.taskdb.verifyProvenance(r)));
		expect(verdicts.every((v) => v.passed && v.results.length === 4)).toBe(true);
		const { rows } = await this.raw.query(
			'SELECT count(DISTINCT verification_snapshot_ts)::int AS n FROM taskdb.reports WHERE id = ANY($1::uuid[])',
			[results.map((r) => r.report_id)]);
		expect(rows[0].n).toBe(reports);
	}));
});
