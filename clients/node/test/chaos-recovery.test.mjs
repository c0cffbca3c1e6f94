// The original plan's tests/chaos-recovery.test.mjs, through the client:
// the server crashes during concurrent writes (SIGKILL to the postmaster
// and all its processes, fsync on), is started again, and the data written
// before the crash hashes as before, every acknowledged write is there, and
// the doctor says excellent.  On a throwaway cluster of its own
// (helpers/cluster.mjs); the test body is the plan's, `this` the harness.
import { after, before, describe, test } from 'node:test';

import pg from 'pg';

import { ConnectionError, TaskDB } from '../index.js';
import { startCluster } from './helpers/cluster.mjs';
import { bound, expect } from './helpers/plan.mjs';

const CYCLES = 3;				// crashes in the test, each at a random moment
const WRITERS = 16;
const MAX_OPS_PER_WRITER = 5000;	// bounds: far more than a writer gets through before the crash
const MAX_RUN_MS = 20000;
const WRITER_PREFIX = 'chaos-writer-';

const harness = {
	cluster: null,
	taskdb: null,
	acknowledged: [],			// ids of tasks whose transaction the server acknowledged
	cycle: 0,

	/** The data the crash must not touch: a synthetic dataset, hand-made tasks and a published report. */
	async generateInitialState() {
		const loaded = await this.taskdb.loadSynthetic({ tasks: 400, runs_per_task: 3, gates_per_run: 2, artifacts: 200, seed: 2026 });
		const t = await this.taskdb.createTask({ title: 'before the crash', policy_version: '1.1.0', priority: 'high' });
		const r = await this.taskdb.createRun({ task_id: t, status: 'completed', metrics: { ms: 5 } });
		await this.taskdb.createGate({ run_id: r, name: 'semgrep', type: 'security', status: 'pass' });
		const report = await this.taskdb.publishReport([{ kind: 'task_id', id: t }, { kind: 'status_derived', id: t }]);
		return { ...loaded, report };
	},

	/**
	 * The export hash of everything but what the writers wrote during the
	 * crash: their tasks (and with them their runs, gates and summary rows)
	 * are deleted in a transaction that is rolled back.
	 */
	async calculateSystemHash() {
		const client = await this.taskdb.pool.connect();
		try {
			await client.query('BEGIN');
			await client.query('SET LOCAL client_min_messages = warning');
			await client.query('DELETE FROM taskdb.tasks WHERE owner LIKE $1', [`${WRITER_PREFIX}%`]);
			return await this.taskdb.exportHash({ client });
		} finally {
			await client.query('ROLLBACK').catch(() => {});
			client.release();
		}
	},

	/**
	 * WRITERS concurrent writers, each transaction a task with a running run
	 * and a gate, then the run of its previous task completed; after a random
	 * 0.5-2 s, SIGKILL to the postmaster and every server process.
	 */
	async simulateCrash() {
		this.cycle++;
		let crashed = false;
		const stop = Date.now() + MAX_RUN_MS;
		const writer = async (w) => {
			let previousRun = null;
			let acked = 0;
			for (let i = 0; i < MAX_OPS_PER_WRITER && Date.now() < stop; i++) {
				try {
					const ids = await this.taskdb.transaction(async (tx) => {
						const task = await tx.createTask({
							title: `${WRITER_PREFIX}c${this.cycle}-w${w}-${i}`,
							policy_version: '1.1.0',
							owner: `${WRITER_PREFIX}${w}`,
						});
						const run = await tx.createRun({ task_id: task, status: 'running', tool_calls: [{ tool: 'bash' }] });
						await tx.createGate({ run_id: run, name: 'lint', type: 'lint', status: i % 3 === 0 ? 'fail' : 'pass' });
						if (previousRun !== null)
							await tx.setRunStatus(previousRun, 'completed');
						return { task, run };
					});
					this.acknowledged.push(ids.task);
					previousRun = ids.run;
					acked++;
				} catch (err) {
					if (crashed && err instanceof ConnectionError)
						return acked;
					throw err;
				}
			}
			throw new Error(`writer ${w} was never stopped by the crash (${acked} transactions)`);
		};
		const writing = Array.from({ length: WRITERS }, (_, w) => writer(w));
		await new Promise((resolve) => setTimeout(resolve, 500 + Math.random() * 1500));
		crashed = true;
		const killed = await this.cluster.kill9();
		const acked = await Promise.all(writing);
		console.log(`cycle ${this.cycle}: ${killed} server processes killed under ${WRITERS} writers ` +
			`after ${acked.reduce((a, b) => a + b, 0)} acknowledged transactions`);
		expect(acked.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
	},

	/** Start the server: PostgreSQL replays its write-ahead log. */
	async recoverFromCrash() {
		await this.cluster.start();
		const c = new pg.Client(this.cluster.connection);
		await c.connect();
		await c.end();
	},
};

before(async () => {
	harness.cluster = await startCluster();
	const c = new pg.Client(harness.cluster.connection);
	await c.connect();
	await c.query('CREATE EXTENSION taskdb');
	await c.end();
	harness.taskdb = new TaskDB({ ...harness.cluster.connection, max: WRITERS + 4 });
});

after(async () => {
	await harness.taskdb?.end();
	await harness.cluster?.destroy();
});

describe('TaskDB Recuperación de Caos', () => {
	test('Recuperación sin pérdida tras caída', { timeout: 240000 }, bound(harness, async function () {
		// 1. Generar estado inicial
		const initialState = await this.generateInitialState();
		const initialStateHash = await this.calculateSystemHash();
		expect(initialState.tasks_created).toBe(400);

		for (let cycle = 1; cycle <= CYCLES; cycle++) {
			// 2. Simular caída durante operaciones concurrentes
			await this.simulateCrash();

			// 3. Recuperar desde append-only log
			await this.recoverFromCrash();

			// 4. Verificar integridad
			const recoveredStateHash = await this.calculateSystemHash();
			expect(recoveredStateHash).toBe(initialStateHash);

			// 5. Verificar que no hay pérdidas
			const doctorReport = await this.taskdb.doctor.runDiagnostics();
			expect(doctorReport.summary.system_health).toBe('excellent');

			// ... every acknowledged transaction is there, whole.
			const { rows: [n] } = await this.taskdb.pool.query(`
				SELECT count(*)::int AS tasks,
				       (SELECT count(*) FROM taskdb.runs WHERE task_id = ANY($1::uuid[]))::int AS runs,
				       (SELECT count(*) FROM taskdb.gates WHERE task_id = ANY($1::uuid[]))::int AS gates
				  FROM taskdb.tasks WHERE id = ANY($1::uuid[])`, [this.acknowledged]);
			expect(n).toEqual({ tasks: this.acknowledged.length, runs: this.acknowledged.length, gates: this.acknowledged.length });
			const verdict = await this.taskdb.verifyProvenance(initialState.report);
			expect(verdict.passed).toBe(true);
		}
	}));
});
