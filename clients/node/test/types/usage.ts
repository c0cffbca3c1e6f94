// Compiled with tsc --noEmit (npm run test:types): the declarations accept
// what the client takes and return what it returns, and refuse the rest
// (each @ts-expect-error line must be an error, or tsc fails).
import pg from 'pg';

import {
	ConflictError, InvalidInputError, NotFoundError, RunStatus, StatusDerived, TaskDB, TaskDBError, TaskStatus,
	createTaskDB,
	type Diagnostics, type Gate, type Report, type Run, type StatusChange, type SyntheticProgress, type SyntheticTotals,
	type SystemStats, type Verification,
} from 'taskdb';

async function usage(): Promise<void> {
	const taskdb = new TaskDB({ connectionString: 'postgresql://localhost/work', max: 10 });
	const other = createTaskDB({ pool: new pg.Pool() });

	const task: string = await taskdb.createTask({ title: 'Synthetic Task 1', description: 'd', priority: 'critical', policy_version: '1.1.0' });
	const run: string = await taskdb.createRun({ task_id: task, tool_calls: [{ tool: 'bash' }], metrics: { ms: 1 } });
	await taskdb.createGate({ name: 'Synthetic Gate 1', type: 'lint', run_id: run, checks: { passed: true } });
	const r: Run = await taskdb.setRunStatus(run, RunStatus.completed);
	const started: Date | null = r.started_at;
	const g: Gate = await taskdb.setGateStatus(run, 'pass');
	const s: StatusDerived | null = await taskdb.statusDerived(task);
	if (s === StatusDerived.completed || s === 'blocked') console.log(g.status, started);

	const stats: SystemStats = await taskdb.getSystemStats();
	const total: number = stats.total_tasks;
	const pending: number | undefined = stats.status_derived.pending;

	const report: Report = await taskdb.publishReport([{ kind: 'task_id', id: task }, { kind: 'artifact_hash', hash: 'sha256:00' }]);
	const ts: string = report.verification_snapshot_ts;
	const v: Verification = await taskdb.verifyProvenance(report);
	const mismatch: string | null = v.results[0].mismatch;
	const lines: string[] = await taskdb.debugProvenance(report, { verbose: true });

	const d: Diagnostics = await taskdb.doctor.runDiagnostics();
	if (d.summary.system_health === 'excellent') console.log(d.summary.passed, d.checks[0].name);
	await taskdb.doctor.runDiagnostics({ sample: 100 });

	const hash: string = await taskdb.exportHash();

	const load = taskdb.loadSynthetic({ tasks: 1000, seed: 7 }, { onProgress: (p: SyntheticProgress) => console.log(p.percent) });
	load.on('progress', (p) => console.log(p.tasks_done));
	const totals: SyntheticTotals = await load;

	const sub = await taskdb.onStatusChange((c: StatusChange) => {
		const old: StatusDerived | null = c.old_status;
		console.log(c.task_id, old, c.new_status);
	}, { taskId: task });
	sub.on('reconnect', () => console.log('read again'));
	sub.on('disconnect', (err: TaskDBError) => console.log(err.code));
	await sub.close();
	const reached: StatusDerived = await taskdb.waitForStatus(task, ['completed', 'failed'], { timeoutMs: 1000 });

	const id: string = await taskdb.transaction(async (tx) => tx.createTask({ title: 't', policy_version: '1' }),
		{ isolationLevel: 'serializable' });
	const client = await new pg.Pool().connect();
	await taskdb.createRun({ task_id: id, status: 'running' }, { client });
	await taskdb.withClient(client).statusDerived(id);

	try {
		await taskdb.createRun({ task_id: task, status: 'running' });
	} catch (err) {
		if (err instanceof InvalidInputError || err instanceof NotFoundError || err instanceof ConflictError)
			console.log(err.code, err.detail, err.hint, err.message);
	}

	console.log(other, total, pending, ts, mismatch, lines, hash, totals, reached, TaskStatus.retracted);

	// @ts-expect-error title is required
	await taskdb.createTask({ policy_version: '1' });
	// @ts-expect-error not a run status
	await taskdb.createRun({ task_id: task, status: 'done' });
	// @ts-expect-error not a gate type
	await taskdb.createGate({ name: 'n', type: 'style', run_id: run });
	// @ts-expect-error not a status_derived
	await taskdb.waitForStatus(task, 'finished');
	// @ts-expect-error claims are objects of a known kind
	await taskdb.publishReport([{ kind: 'task', id: task }]);
	// @ts-expect-error statusDerived may be null
	const notNull: StatusDerived = await taskdb.statusDerived(task);
	// @ts-expect-error the summary has no such field
	console.log(d.summary.health, notNull);
	// @ts-expect-error enums are read-only
	TaskStatus.pending = 'x';
}

void usage;
