// Unit tests of every function of the client, against a database of its own.
import assert from 'node:assert/strict';
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import pg from 'pg';

import {
	ClaimKind, GateStatus, RunStatus, StatusDerived, SyntheticLoad, TaskDB, TaskStatus, createTaskDB,
	parseProgress,
} from '../index.js';
import { dropDatabase, freshDatabase } from './helpers/db.mjs';

const execFile = promisify(execFileCb);
const DB = 'taskdb_node_api';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let taskdb;
let raw;		// a plain connection to look at tables directly

before(async () => {
	await freshDatabase(DB);
	taskdb = new TaskDB({ database: DB, max: 4 });
	raw = new pg.Client({ database: DB });
	await raw.connect();
});

after(async () => {
	await taskdb?.end();
	await raw?.end();
	await dropDatabase(DB);
});

async function task(fields = {}) {
	return taskdb.createTask({ title: 'a task', policy_version: '1.1.0', ...fields });
}

describe('createTask', () => {
	test('stores every field and returns the id; jsonb arrays stay JSON', async () => {
		const id = await taskdb.createTask({
			title: 'Write the parser',
			description: 'from the plan',
			priority: 'high',
			policy_version: '1.1.0',
			status: 'in_progress',
			feature: 'parser',
			owner: 'ana',
			summary: 'none yet',
			dependencies: ['a1b2c3d4-0000-4000-8000-000000000001'],
			metadata: { tags: [1, 2], nested: { ok: true } },
		});
		assert.match(id, UUID);
		const { rows: [t] } = await raw.query('SELECT * FROM taskdb.tasks WHERE id = $1', [id]);
		assert.equal(t.title, 'Write the parser');
		assert.equal(t.description, 'from the plan');
		assert.equal(t.priority, 'high');
		assert.equal(t.status, 'in_progress');
		assert.equal(t.feature, 'parser');
		assert.equal(t.owner, 'ana');
		assert.equal(t.summary, 'none yet');
		assert.deepEqual(t.dependencies, ['a1b2c3d4-0000-4000-8000-000000000001']);
		assert.deepEqual(t.metadata, { tags: [1, 2], nested: { ok: true } });
	});

	test('the server\'s defaults apply to fields left out', async () => {
		const id = await task();
		const { rows: [t] } = await raw.query('SELECT priority, status, description FROM taskdb.tasks WHERE id = $1', [id]);
		assert.deepEqual(t, { priority: 'medium', status: 'pending', description: null });
	});

	test('a completed task gets completed_at (create_task\'s rule)', async () => {
		const id = await task({ status: 'completed' });
		const { rows: [t] } = await raw.query('SELECT completed_at FROM taskdb.tasks WHERE id = $1', [id]);
		assert.ok(t.completed_at instanceof Date);
	});

	test('values are parameters, never SQL', async () => {
		const evil = "x'); DROP TABLE taskdb.tasks; --";
		const id = await task({ title: evil, owner: '$1 $2 \\ "' });
		const { rows: [t] } = await raw.query('SELECT title, owner FROM taskdb.tasks WHERE id = $1', [id]);
		assert.deepEqual(t, { title: evil, owner: '$1 $2 \\ "' });
	});

	test('misuse is a TypeError before anything is sent', async () => {
		await assert.rejects(taskdb.createTask({ policy_version: '1' }), { name: 'TypeError', message: /"title" is required/ });
		await assert.rejects(taskdb.createTask({ title: 't' }), { name: 'TypeError', message: /"policy_version" is required/ });
		await assert.rejects(taskdb.createTask({ title: 't', policy_version: '1', titel: 'x' }),
			{ name: 'TypeError', message: /unknown field "titel"/ });
		await assert.rejects(taskdb.createTask(null), { name: 'TypeError' });
		await assert.rejects(taskdb.createTask([]), { name: 'TypeError' });
	});
});

describe('createRun, createGate, setRunStatus, setGateStatus', () => {
	test('a run and a gate; the gate\'s task_id comes from its run', async () => {
		const t = await task();
		const r = await taskdb.createRun({ task_id: t, tool_calls: [{ tool: 'bash', calls: 3 }], metrics: { ms: 12 } });
		assert.match(r, UUID);
		const g = await taskdb.createGate({ run_id: r, name: 'semgrep', type: 'security', checks: { rules: 4 } });
		assert.match(g, UUID);
		const { rows: [run] } = await raw.query('SELECT status, tool_calls, metrics FROM taskdb.runs WHERE id = $1', [r]);
		assert.deepEqual(run, { status: 'queued', tool_calls: [{ tool: 'bash', calls: 3 }], metrics: { ms: 12 } });
		const { rows: [gate] } = await raw.query('SELECT task_id, status, type, checks FROM taskdb.gates WHERE id = $1', [g]);
		assert.deepEqual(gate, { task_id: t, status: 'pending', type: 'security', checks: { rules: 4 } });
	});

	test('setRunStatus returns the typed row and stamps started_at / finished_at', async () => {
		const t = await task();
		const r = await taskdb.createRun({ task_id: t });
		const running = await taskdb.setRunStatus(r, RunStatus.running);
		assert.equal(running.id, r);
		assert.equal(running.task_id, t);
		assert.equal(running.status, 'running');
		assert.ok(running.started_at instanceof Date);
		assert.equal(running.finished_at, null);
		assert.ok(running.created_at instanceof Date && running.updated_at instanceof Date);
		const done = await taskdb.setRunStatus(r, 'completed');
		assert.equal(done.status, 'completed');
		assert.ok(done.finished_at instanceof Date);
		assert.deepEqual(Object.keys(done).sort(),
			['created_at', 'finished_at', 'id', 'metrics', 'started_at', 'status', 'task_id', 'tool_calls', 'updated_at']);
	});

	test('setGateStatus returns the typed row', async () => {
		const t = await task();
		const r = await taskdb.createRun({ task_id: t, status: 'completed' });
		const g = await taskdb.createGate({ run_id: r, name: 'lint', type: 'lint' });
		const gate = await taskdb.setGateStatus(g, GateStatus.fail);
		assert.equal(gate.id, g);
		assert.equal(gate.run_id, r);
		assert.equal(gate.task_id, t);
		assert.equal(gate.status, 'fail');
		assert.ok(gate.created_at instanceof Date);
	});

	test('required fields', async () => {
		await assert.rejects(taskdb.createRun({}), { name: 'TypeError', message: /"task_id" is required/ });
		await assert.rejects(taskdb.createGate({ run_id: 'x', name: 'n' }), { name: 'TypeError', message: /"type" is required/ });
		await assert.rejects(taskdb.setRunStatus(undefined, 'completed'), { name: 'TypeError' });
		await assert.rejects(taskdb.setGateStatus(42, 'pass'), { name: 'TypeError' });
	});
});

describe('statusDerived', () => {
	test('every case of the rule', async () => {
		const t = await task();
		assert.equal(await taskdb.statusDerived(t), StatusDerived.pending);
		const r1 = await taskdb.createRun({ task_id: t, status: 'running' });
		assert.equal(await taskdb.statusDerived(t), 'in_progress');
		await taskdb.setRunStatus(r1, 'completed');
		assert.equal(await taskdb.statusDerived(t), 'completed');
		const g = await taskdb.createGate({ run_id: r1, name: 'policy', type: 'policy', status: 'fail' });
		assert.equal(await taskdb.statusDerived(t), 'blocked');
		await taskdb.setGateStatus(g, 'pass');
		assert.equal(await taskdb.statusDerived(t), 'completed');
		await taskdb.createRun({ task_id: t, status: 'failed' });
		assert.equal(await taskdb.statusDerived(t), 'failed');
	});

	test('null for an unknown task', async () => {
		assert.equal(await taskdb.statusDerived('00000000-0000-4000-8000-000000000000'), null);
	});

	test('inside the caller\'s transaction it sees that transaction\'s writes, others do not', async () => {
		const t = await task();
		const client = await taskdb.pool.connect();
		try {
			await client.query('BEGIN');
			await taskdb.createRun({ task_id: t, status: 'running' }, { client });
			assert.equal(await taskdb.statusDerived(t, { client }), 'in_progress');
			assert.equal(await taskdb.withClient(client).statusDerived(t), 'in_progress');
			assert.equal(await taskdb.statusDerived(t), 'pending');		// on the pool
			await client.query('ROLLBACK');
		} finally {
			client.release();
		}
		assert.equal(await taskdb.statusDerived(t), 'pending');
		const { rows } = await raw.query('SELECT count(*)::int AS n FROM taskdb.runs WHERE task_id = $1', [t]);
		assert.equal(rows[0].n, 0);
	});
});

describe('transaction', () => {
	test('commits when the function resolves', async () => {
		const t = await taskdb.transaction(async (tx) => {
			const id = await tx.createTask({ title: 'in a transaction', policy_version: '1' });
			await tx.createRun({ task_id: id, status: 'completed' });
			assert.equal(await tx.statusDerived(id), 'completed');
			return id;
		});
		assert.equal(await taskdb.statusDerived(t), 'completed');
	});

	test('rolls back when it throws, and rethrows', async () => {
		let id;
		await assert.rejects(taskdb.transaction(async (tx) => {
			id = await tx.createTask({ title: 'rolled back', policy_version: '1' });
			throw new Error('changed my mind');
		}), /changed my mind/);
		assert.equal(await taskdb.statusDerived(id), null);
	});

	test('isolation levels: repeatable read keeps its snapshot', async () => {
		const t = await task();
		const seen = await taskdb.transaction(async (tx) => {
			const first = await tx.statusDerived(t);
			await taskdb.createRun({ task_id: t, status: 'running' });		// on the pool, committed
			return [first, await tx.statusDerived(t)];
		}, { isolationLevel: 'repeatable read' });
		assert.deepEqual(seen, ['pending', 'pending']);
		assert.equal(await taskdb.statusDerived(t), 'in_progress');
		await assert.rejects(taskdb.transaction(async () => {}, { isolationLevel: 'chaos' }), { name: 'TypeError' });
	});

	test('a TaskDB bound to a client refuses to start one', async () => {
		const client = await taskdb.pool.connect();
		try {
			await assert.rejects(taskdb.withClient(client).transaction(async () => {}), { name: 'TypeError' });
			const bound = new TaskDB({ client });
			assert.equal(await bound.statusDerived('00000000-0000-4000-8000-000000000000'), null);
			await assert.rejects(bound.onStatusChange(() => {}), { name: 'TypeError', message: /listen/ });
		} finally {
			client.release();
		}
		assert.throws(() => taskdb.withClient({}), { name: 'TypeError' });
	});
});

describe('getSystemStats', () => {
	test('total_tasks and the other totals equal the tables', async () => {
		const stats = await taskdb.getSystemStats();
		const { rows: [c] } = await raw.query(`SELECT (SELECT count(*) FROM taskdb.tasks)::int AS tasks,
			(SELECT count(*) FROM taskdb.runs)::int AS runs, (SELECT count(*) FROM taskdb.gates)::int AS gates,
			(SELECT count(*) FROM taskdb.artifacts)::int AS artifacts`);
		assert.equal(stats.total_tasks, c.tasks);
		assert.equal(stats.total_runs, c.runs);
		assert.equal(stats.total_gates, c.gates);
		assert.equal(stats.total_artifacts, c.artifacts);
		assert.equal(typeof stats.total_tasks, 'number');
		const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);
		assert.equal(sum(stats.tasks_by_status), stats.total_tasks);
		assert.equal(sum(stats.runs_by_status), stats.total_runs);
		assert.equal(sum(stats.gates_by_status), stats.total_gates);
		assert.equal(sum(stats.status_derived), stats.total_tasks);
		for (const s of Object.keys(stats.status_derived))
			assert.ok(Object.hasOwn(StatusDerived, s));
	});

	test('counts one more task after createTask', async () => {
		const before = (await taskdb.getSystemStats()).total_tasks;
		await task();
		assert.equal((await taskdb.getSystemStats()).total_tasks, before + 1);
	});
});

describe('publishReport, verifyProvenance, debugProvenance', () => {
	let t;
	let r;
	let report;

	before(async () => {
		t = await task({ title: 'proven' });
		r = await taskdb.createRun({ task_id: t, status: 'completed' });
		report = await taskdb.publishReport([
			{ kind: ClaimKind.task_id, id: t },
			{ kind: 'run_id', id: r, expected: 'completed' },
			{ kind: 'status_derived', id: t },
		]);
	});

	test('the report is signed and stamped', async () => {
		assert.equal(report.format, 'taskdb-provenance/1');
		assert.match(report.report_id, UUID);
		assert.match(report.verification_snapshot_ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/);
		assert.match(report.signature, /^hmac-sha256:[0-9a-f]{64}$/);
		assert.equal(report.claims_validated.length, 3);
		assert.equal(report.claims_validated[2].at_snapshot, 'completed');
	});

	test('verifies PASS, claim by claim and the signature', async () => {
		const v = await taskdb.verifyProvenance(report);
		assert.equal(v.passed, true);
		assert.deepEqual(v.results.map((x) => [x.kind, x.status]),
			[['task_id', 'PASS'], ['run_id', 'PASS'], ['status_derived', 'PASS'], ['signature', 'PASS']]);
		// a JSON string works as well
		assert.equal((await taskdb.verifyProvenance(JSON.stringify(report))).passed, true);
	});

	test('a later change FAILs with what and when', async () => {
		await taskdb.setRunStatus(r, 'failed');
		const v = await taskdb.verifyProvenance(report);
		assert.equal(v.passed, false);
		const run = v.results.find((x) => x.kind === 'run_id');
		assert.equal(run.status, 'FAIL');
		assert.equal(run.expected, 'completed');
		assert.equal(run.actual, 'failed');
		assert.match(run.mismatch, /changed after snapshot/i);
		assert.ok(run.changed_at instanceof Date);
		assert.equal(v.results.find((x) => x.kind === 'status_derived').status, 'FAIL');
	});

	test('debugProvenance: the lines of taskdb.debug_provenance(), verbose or not', async () => {
		const lines = await taskdb.debugProvenance(report);
		assert.match(lines[0], /^Debugging provenance for snapshot: /);
		assert.ok(lines.some((l) => /^\[FAIL\] run_id: /.test(l)));
		assert.ok(lines.some((l) => /^\[PASS\] task_id: /.test(l)));
		const verbose = await taskdb.debugProvenance(report, { verbose: true });
		assert.ok(verbose.length > lines.length);
		assert.ok(verbose.some((l) => /^\s+Mismatch: /.test(l)));
		const { rows } = await raw.query('SELECT line FROM taskdb.debug_provenance($1::jsonb, true) AS line', [JSON.stringify(report)]);
		assert.deepEqual(verbose, rows.map((x) => x.line));
	});

	test('debugProvenance prints what the CLI `taskdb debug-provenance --verbose` prints', async (t) => {
		let cli;
		try {
			const pgConfig = process.env.PG_CONFIG ?? 'pg_config';
			cli = path.join(execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8' }).trim(), 'taskdb');
			fs.accessSync(cli, fs.constants.X_OK);
		} catch {
			t.skip('the taskdb command is not installed next to pg_config');
			return;
		}
		const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'taskdb-node-report-')), 'report.json');
		fs.writeFileSync(file, JSON.stringify(report));
		let out;
		try {
			await execFile(cli, ['-d', DB, 'debug-provenance', '--verbose', file], { env: { ...process.env, NO_COLOR: '1' } });
			assert.fail('the report has a failing claim: exit status 1 expected');
		} catch (err) {
			assert.equal(err.code, 1, String(err.stderr));
			out = err.stdout;
		} finally {
			fs.rmSync(path.dirname(file), { recursive: true, force: true });
		}
		assert.deepEqual((await taskdb.debugProvenance(report, { verbose: true })).join('\n') + '\n', out);
	});

	test('bad input', async () => {
		await assert.rejects(taskdb.publishReport({ kind: 'task_id' }), { name: 'TypeError' });
		await assert.rejects(taskdb.verifyProvenance(42), { name: 'TypeError' });
		await assert.rejects(taskdb.verifyProvenance({ format: 'x' }), { name: 'InvalidInputError' });
		const altered = { ...report, claims_validated: report.claims_validated.slice(0, 1) };
		const v = await taskdb.verifyProvenance(altered);
		assert.equal(v.passed, false);
		assert.equal(v.results.at(-1).kind, 'signature');
		assert.equal(v.results.at(-1).status, 'FAIL');
	});
});

describe('doctor.runDiagnostics', () => {
	test('summary and checks, as the plan reads them', async () => {
		const d = await taskdb.doctor.runDiagnostics();
		assert.deepEqual(Object.keys(d.summary).sort(), ['detail', 'failed', 'passed', 'system_health', 'warned']);
		assert.ok(['excellent', 'degraded', 'failing'].includes(d.summary.system_health));
		assert.equal(d.summary.passed + d.summary.warned + d.summary.failed, d.checks.length);
		assert.ok(d.checks.length >= 5);
		for (const c of d.checks) {
			assert.equal(typeof c.name, 'string');
			assert.ok(['pass', 'warn', 'fail'].includes(c.status));
			assert.equal(typeof c.detail, 'string');
		}
		assert.equal(d.checks.find((c) => c.name === 'summary_drift').status, 'pass');
		assert.equal(d.summary.system_health,
			d.summary.failed > 0 ? 'failing' : d.summary.warned > 0 ? 'degraded' : 'excellent');
	});

	test('sample', async () => {
		const d = await taskdb.doctor.runDiagnostics({ sample: 3 });
		assert.match(d.checks.find((c) => c.name === 'summary_drift').detail, /^3 tasks checked \(sampled\)/);
		await assert.rejects(taskdb.doctor.runDiagnostics({ sample: 0 }), { name: 'TypeError' });
		await assert.rejects(taskdb.doctor.runDiagnostics({ sample: 1.5 }), { name: 'TypeError' });
	});

	test('drift is found', async () => {
		const t = await task();
		await raw.query('BEGIN');
		await raw.query("SET LOCAL session_replication_role = replica");		// no triggers: the summary misses this run
		await raw.query("INSERT INTO taskdb.runs (task_id, status) VALUES ($1, 'failed')", [t]);
		const d = await taskdb.doctor.runDiagnostics({}, { client: raw });
		await raw.query('ROLLBACK');
		assert.equal(d.summary.system_health, 'failing');
		assert.equal(d.summary.failed, 1);
		assert.equal(d.checks.find((c) => c.name === 'summary_drift').status, 'fail');
	});
});

describe('exportHash', () => {
	test('sha256 of the data; the same until the data changes', async () => {
		const h1 = await taskdb.exportHash();
		assert.match(h1, /^sha256:[0-9a-f]{64}$/);
		assert.equal(await taskdb.exportHash(), h1);
		await task();
		assert.notEqual(await taskdb.exportHash(), h1);
	});
});

describe('loadSynthetic', () => {
	test('emits progress per chunk and resolves to the totals', async () => {
		const progress = [];
		const seen = [];
		const load = taskdb.loadSynthetic({ tasks: 200, runs_per_task: 2, gates_per_run: 1, artifacts: 50, seed: 1601 },
			{ onProgress: (p) => seen.push(p) });
		assert.ok(load instanceof SyntheticLoad);
		load.on('progress', (p) => progress.push(p));
		const totals = await load;
		assert.deepEqual(totals, { tasks_created: 200, runs_created: 400, gates_created: 400, artifacts_created: 50,
			events_written: totals.events_written });
		assert.ok(totals.events_written > 1000);
		assert.equal(progress.length, 20);		// chunks of tasks / 20
		assert.deepEqual(seen, progress);
		for (let i = 1; i < progress.length; i++)
			assert.ok(progress[i].tasks_done > progress[i - 1].tasks_done);
		assert.deepEqual(progress.at(-1), { ...progress.at(-1), tasks_done: 200, tasks_total: 200, percent: 100, runs: 400 });
	});

	test('the same seed again is refused (ConflictError), nothing half-loaded', async () => {
		const before = (await taskdb.getSystemStats()).total_tasks;
		await assert.rejects(taskdb.loadSynthetic({ tasks: 10, seed: 1601 }), { name: 'ConflictError', code: '23505' });
		assert.equal((await taskdb.getSystemStats()).total_tasks, before);
	});

	test('inside the caller\'s transaction', async () => {
		const before = (await taskdb.getSystemStats()).total_tasks;
		const client = await taskdb.pool.connect();
		let events = 0;
		try {
			await client.query('BEGIN');
			const load = taskdb.loadSynthetic({ tasks: 20, seed: 1602 }, { client });
			load.on('progress', () => events++);
			assert.equal((await load).tasks_created, 20);
			await client.query('ROLLBACK');
		} finally {
			client.release();
		}
		assert.equal(events, 20);
		assert.equal((await taskdb.getSystemStats()).total_tasks, before);
	});

	test('bad sizes', async () => {
		await assert.rejects(taskdb.loadSynthetic({}), { name: 'TypeError', message: /"tasks" is required/ });
		await assert.rejects(taskdb.loadSynthetic({ tasks: -1 }), { name: 'InvalidInputError', code: '22023' });
		await assert.rejects(taskdb.loadSynthetic({ tasks: 200000000 }), { name: 'InvalidInputError', code: '54000' });
	});

	test('parseProgress reads the NOTICE', () => {
		assert.deepEqual(parseProgress('generate_synthetic: 5 of 100 tasks (5 %), 50 runs, 150 gates, 25 artifacts, 533 events, 0.1 s'),
			{ tasks_done: 5, tasks_total: 100, percent: 5, runs: 50, gates: 150, artifacts: 25, events: 533, seconds: 0.1 });
		assert.equal(parseProgress('something else'), null);
	});
});

describe('the rest of the surface', () => {
	test('enums are frozen and name the server\'s values', () => {
		assert.ok(Object.isFrozen(TaskStatus));
		assert.deepEqual(Object.values(TaskStatus), ['pending', 'in_progress', 'completed', 'failed', 'cancelled', 'retracted']);
		assert.deepEqual(Object.values(StatusDerived), ['failed', 'pending', 'in_progress', 'completed', 'blocked']);
	});

	test('createTaskDB and a pool of the caller\'s (end() leaves it open)', async () => {
		const pool = new pg.Pool({ database: DB, max: 1 });
		const db = createTaskDB({ pool });
		assert.equal(db.pool, pool);
		assert.match(await db.exportHash(), /^sha256:/);
		await db.end();
		assert.equal((await pool.query('SELECT 1 AS one')).rows[0].one, 1);
		await pool.end();
	});
});
