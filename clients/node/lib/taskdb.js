// The TaskDB class: the original plan's API over taskdb's SQL functions.
//
// Every method is one SQL statement with its values passed as parameters
// ($1, $2, ... with explicit casts; never pasted into the SQL text), sent on
// the caller's client when one is given (so it runs inside the caller's
// transaction) and on the pool otherwise.  What the server refuses is
// thrown as a TaskDBError subclass (errors.js).

import pg from 'pg';

import { ConnectionError, NotFoundError, TimeoutError, toTaskDBError } from './errors.js';
import { StatusSubscription } from './notifications.js';
import { SyntheticLoad, parseProgress } from './synthetic.js';

// Arguments of a SQL function, in the function's order: the JavaScript
// field, the SQL parameter name and its type.  A call names only the
// fields the caller gave, so the server's defaults apply to the others.
const TASK_ARGS = [
	['title', 'text'], ['policy_version', 'text'], ['description', 'text'], ['priority', 'text'],
	['status', 'text'], ['feature', 'text'], ['owner', 'text'], ['summary', 'text'],
	['dependencies', 'jsonb'], ['metadata', 'jsonb'],
];
const RUN_ARGS = [['task_id', 'uuid'], ['status', 'text'], ['tool_calls', 'jsonb'], ['metrics', 'jsonb']];
const GATE_ARGS = [['run_id', 'uuid'], ['name', 'text'], ['type', 'text'], ['status', 'text'], ['checks', 'jsonb']];
const SYNTHETIC_ARGS = [
	['tasks', 'int4'], ['runs_per_task', 'int4'], ['gates_per_run', 'int4'], ['artifacts', 'int4'], ['seed', 'int4'],
];

const ISOLATION = {
	'read committed': 'READ COMMITTED',
	'repeatable read': 'REPEATABLE READ',
	serializable: 'SERIALIZABLE',
};

/**
 * "taskdb.fn(a => $1::text, b => $2::jsonb)" for the fields of input that
 * are not undefined, and the values.  The SQL text is made of the constant
 * names above only.
 */
function namedCall(method, fn, spec, input, required) {
	const { args, values } = namedArgs(method, spec, input, required);
	return { text: `SELECT taskdb.${fn}(${args}) AS result`, values };
}

function namedArgs(method, spec, input, required) {
	if (input === null || typeof input !== 'object' || Array.isArray(input))
		throw new TypeError(`${method}: expected an object of fields, got ${input === null ? 'null' : typeof input}`);
	const known = new Set(spec.map(([name]) => name));
	for (const key of Object.keys(input))
		if (!known.has(key) && input[key] !== undefined)
			throw new TypeError(`${method}: unknown field "${key}" (fields: ${[...known].join(', ')})`);
	for (const key of required)
		if (input[key] === undefined || input[key] === null)
			throw new TypeError(`${method}: field "${key}" is required`);
	const args = [];
	const values = [];
	for (const [name, type] of spec) {
		const v = input[name];
		if (v === undefined)
			continue;
		values.push(type === 'jsonb' && v !== null ? JSON.stringify(v) : v);
		args.push(`${name} => $${values.length}::pg_catalog.${type}`);
	}
	return { args: args.join(', '), values };
}

/** An error the server sent (the connection is still usable), as opposed to a lost connection. */
function isServerError(err) {
	return err !== null && typeof err === 'object' && typeof err.severity === 'string';
}

function jsonParam(method, name, value) {
	if (typeof value === 'string')
		return value;
	if (value === null || typeof value !== 'object')
		throw new TypeError(`${method}: ${name} must be an object or a JSON string`);
	return JSON.stringify(value);
}

function uuidParam(method, name, value) {
	if (typeof value !== 'string')
		throw new TypeError(`${method}: ${name} must be a uuid string, got ${value === null ? 'null' : typeof value}`);
	return value;
}

function count(v) {
	return v === null || v === undefined ? 0 : Number(v);
}

export class TaskDB {
	#pool;
	#ownsPool;
	#client;
	#listenConfig;

	/**
	 * new TaskDB()                     a pool from the PG* environment variables
	 * new TaskDB({ connectionString }) a pool of its own (any pg.PoolConfig)
	 * new TaskDB({ pool })             your pg.Pool (close() leaves it open)
	 * new TaskDB({ client })           every call on your client (inside your transaction)
	 * listen: pg.ClientConfig for onStatusChange() when neither a pool nor a config says where.
	 */
	constructor(options = {}) {
		const { pool, client, listen, ...config } = options;
		this.#client = client ?? null;
		if (pool !== undefined) {
			this.#pool = pool;
			this.#ownsPool = false;
		} else if (client !== undefined) {
			this.#pool = null;
			this.#ownsPool = false;
		} else {
			this.#pool = new pg.Pool(config);
			this.#ownsPool = true;
			// An idle pooled connection that dies (server restart) is dropped
			// by the pool, which then emits 'error'; without a listener that
			// would end the process.  The next query opens a new connection.
			this.#pool.on('error', () => {});
		}
		this.#listenConfig = listen ?? (this.#pool !== null ? this.#pool.options : null);
		/** The plan's doctor: taskdb.doctor.runDiagnostics(). */
		this.doctor = Object.freeze({ runDiagnostics: (opts, callOpts) => this.#runDiagnostics(opts, callOpts) });
	}

	/** The pool calls run on (null when bound to a client only). */
	get pool() {
		return this.#pool;
	}

	/** A TaskDB whose calls all run on client, e.g. inside your transaction. */
	withClient(client) {
		if (client === null || typeof client !== 'object' || typeof client.query !== 'function')
			throw new TypeError('withClient: expected a pg.Client or pg.PoolClient');
		return new TaskDB({ pool: this.#pool ?? undefined, client, listen: this.#listenConfig ?? undefined });
	}

	/** Closes the pool if this TaskDB created it. */
	async end() {
		if (this.#ownsPool)
			await this.#pool.end();
	}

	async #query(query, opts) {
		const on = opts?.client ?? this.#client ?? this.#pool;
		if (on === null)
			throw new TypeError('no client to run on');
		try {
			return await on.query(query);
		} catch (err) {
			throw toTaskDBError(err);
		}
	}

	/**
	 * Runs fn(tx) in one transaction on one pooled connection: tx is a
	 * TaskDB bound to it.  Commits when fn resolves, rolls back when it throws.
	 */
	async transaction(fn, { isolationLevel } = {}) {
		if (this.#pool === null || this.#client !== null)
			throw new TypeError('transaction: this TaskDB is bound to a client; run BEGIN/COMMIT on it yourself');
		let begin = 'BEGIN';
		if (isolationLevel !== undefined) {
			if (!Object.hasOwn(ISOLATION, isolationLevel))
				throw new TypeError(`transaction: isolationLevel must be one of ${Object.keys(ISOLATION).join(', ')}`);
			begin = `BEGIN ISOLATION LEVEL ${ISOLATION[isolationLevel]}`;
		}
		let client;
		try {
			client = await this.#pool.connect();
		} catch (err) {
			throw toTaskDBError(err);
		}
		// A checked-out client has no 'error' listener (pg-pool removes its
		// own): a connection lost between two queries would otherwise be an
		// uncaught exception.  The next query fails with it anyway.
		let broken;
		const onError = (err) => {
			broken ??= err;
		};
		client.on('error', onError);
		try {
			await client.query(begin);
			const result = await fn(this.withClient(client));
			await client.query('COMMIT');
			return result;
		} catch (err) {
			try {
				await client.query('ROLLBACK');
			} catch (rollbackErr) {
				broken ??= rollbackErr;
			}
			throw toTaskDBError(err);
		} finally {
			client.off('error', onError);
			client.release(broken);
		}
	}

	// ---------------------------------------------------------------- writes

	/** Creates a task (taskdb.create_task); resolves to its id. title and policy_version are required. */
	async createTask(task, opts) {
		const r = await this.#query(namedCall('createTask', 'create_task', TASK_ARGS, task, ['title', 'policy_version']), opts);
		return r.rows[0].result;
	}

	/** Creates a run of a task (taskdb.create_run); resolves to its id. */
	async createRun(run, opts) {
		const r = await this.#query(namedCall('createRun', 'create_run', RUN_ARGS, run, ['task_id']), opts);
		return r.rows[0].result;
	}

	/** Creates a gate on a run (taskdb.create_gate); resolves to its id. */
	async createGate(gate, opts) {
		const r = await this.#query(namedCall('createGate', 'create_gate', GATE_ARGS, gate, ['run_id', 'name', 'type']), opts);
		return r.rows[0].result;
	}

	/** Sets a run's status (stamping started_at / finished_at); resolves to the updated run. */
	async setRunStatus(runId, status, opts) {
		const r = await this.#query({
			text: 'SELECT * FROM taskdb.set_run_status($1::pg_catalog.uuid, $2::pg_catalog.text)',
			values: [uuidParam('setRunStatus', 'runId', runId), status],
		}, opts);
		return r.rows[0];
	}

	/** Sets a gate's status; resolves to the updated gate. */
	async setGateStatus(gateId, status, opts) {
		const r = await this.#query({
			text: 'SELECT * FROM taskdb.set_gate_status($1::pg_catalog.uuid, $2::pg_catalog.text)',
			values: [uuidParam('setGateStatus', 'gateId', gateId), status],
		}, opts);
		return r.rows[0];
	}

	// ----------------------------------------------------------------- reads

	/** The task's status_derived (with the transaction's own changes when on its client); null for an unknown task. */
	async statusDerived(taskId, opts) {
		const r = await this.#query({
			text: 'SELECT taskdb.status_derived($1::pg_catalog.uuid) AS status',
			values: [uuidParam('statusDerived', 'taskId', taskId)],
		}, opts);
		return r.rows[0].status;
	}

	/** Totals per table and per status (taskdb.system_stats()), with the plan's total_tasks. */
	async getSystemStats(opts) {
		const r = await this.#query({ text: 'SELECT s.entity, s.status, s.count FROM taskdb.system_stats() AS s' }, opts);
		const stats = {
			total_tasks: 0,
			total_runs: 0,
			total_gates: 0,
			total_artifacts: 0,
			tasks_by_status: {},
			runs_by_status: {},
			gates_by_status: {},
			status_derived: {},
		};
		for (const { entity, status, count: n } of r.rows) {
			if (status === 'total')
				stats[`total_${entity}`] = count(n);
			else if (entity === 'status_derived')
				stats.status_derived[status] = count(n);
			else
				stats[`${entity}_by_status`][status] = count(n);
		}
		return stats;
	}

	// ------------------------------------------------------------ provenance

	/** Publishes a signed report of the claims in one snapshot; resolves to the report (with its verification_snapshot_ts). */
	async publishReport(claims, opts) {
		if (!Array.isArray(claims) && typeof claims !== 'string')
			throw new TypeError('publishReport: claims must be an array of claims or a JSON string');
		const r = await this.#query({
			text: 'SELECT taskdb.publish_report($1::pg_catalog.jsonb) AS report',
			values: [typeof claims === 'string' ? claims : JSON.stringify(claims)],
		}, opts);
		return r.rows[0].report;
	}

	/** Verifies a report: { passed, results } with one result per claim and one for the signature. */
	async verifyProvenance(report, opts) {
		const r = await this.#query({
			text: 'SELECT v.claim, v.kind, v.status, v.expected, v.actual, v.mismatch, v.changed_at' +
				' FROM taskdb.verify_provenance($1::pg_catalog.jsonb) WITH ORDINALITY' +
				' AS v(claim, kind, status, expected, actual, mismatch, changed_at, n) ORDER BY v.n',
			values: [jsonParam('verifyProvenance', 'report', report)],
		}, opts);
		return { passed: r.rows.length > 0 && r.rows.every((row) => row.status === 'PASS'), results: r.rows };
	}

	/** The lines of `taskdb debug-provenance` (taskdb.debug_provenance()), without colour. */
	async debugProvenance(report, { verbose = false } = {}, opts) {
		const r = await this.#query({
			text: 'SELECT d.line FROM taskdb.debug_provenance($1::pg_catalog.jsonb, $2::pg_catalog.bool)' +
				' WITH ORDINALITY AS d(line, n) ORDER BY d.n',
			values: [jsonParam('debugProvenance', 'report', report), Boolean(verbose)],
		}, opts);
		return r.rows.map((row) => row.line);
	}

	// ------------------------------------------------------------ operations

	async #runDiagnostics({ sample } = {}, opts) {
		if (sample !== undefined && sample !== null && !(Number.isInteger(sample) && sample > 0))
			throw new TypeError('runDiagnostics: sample must be a positive integer (tasks to check), or omitted for all');
		const r = await this.#query({
			text: 'SELECT d.check_name, d.status, d.detail FROM taskdb.doctor($1::pg_catalog.int4)' +
				' WITH ORDINALITY AS d(check_name, status, detail, n) ORDER BY d.n',
			values: [sample ?? null],
		}, opts);
		const checks = [];
		let verdict = null;
		for (const row of r.rows) {
			if (row.check_name === 'system_health')
				verdict = row;
			else
				checks.push({ name: row.check_name, status: row.status, detail: row.detail });
		}
		if (verdict === null)
			throw new TypeError('runDiagnostics: taskdb.doctor() returned no system_health row');
		const n = (s) => checks.filter((c) => c.status === s).length;
		return {
			summary: {
				system_health: verdict.status,
				passed: n('pass'),
				warned: n('warn'),
				failed: n('fail'),
				detail: verdict.detail,
			},
			checks,
		};
	}

	/** 'sha256:<64 hex>' over all of taskdb's data in canonical form (taskdb.export_hash()). */
	async exportHash(opts) {
		const r = await this.#query({ text: 'SELECT taskdb.export_hash() AS hash' }, opts);
		return r.rows[0].hash;
	}

	/**
	 * Loads the plan's synthetic dataset (taskdb.generate_synthetic(), owner
	 * only) in one statement.  Returns a promise of the totals that also
	 * emits 'progress' after every chunk; opts.onProgress is called too.
	 */
	loadSynthetic(sizes = {}, opts = {}) {
		let call;
		try {
			const { args, values } = namedArgs('loadSynthetic', SYNTHETIC_ARGS, sizes, ['tasks']);
			call = { text: `SELECT g.* FROM taskdb.generate_synthetic(${args}) AS g`, values };
		} catch (err) {
			return new SyntheticLoad(() => { throw err; });
		}
		return new SyntheticLoad(async (emit) => {
			const onNotice = (msg) => {
				const p = parseProgress(msg.message);
				if (p === null)
					return;
				emit(p);
				opts.onProgress?.(p);
			};
			let client = opts.client ?? this.#client;
			const pooled = client === null;
			if (pooled) {
				try {
					client = await this.#pool.connect();
				} catch (err) {
					throw toTaskDBError(err);
				}
			}
			let broken;
			const onError = (err) => {
				broken ??= err;
			};
			client.on('notice', onNotice);
			if (pooled)
				client.on('error', onError);		// see transaction()
			try {
				const r = await client.query(call);
				const g = r.rows[0];
				return {
					tasks_created: count(g.tasks_created),
					runs_created: count(g.runs_created),
					gates_created: count(g.gates_created),
					artifacts_created: count(g.artifacts_created),
					events_written: count(g.events_written),
				};
			} catch (err) {
				broken = err;
				throw toTaskDBError(err);
			} finally {
				client.off('notice', onNotice);
				if (pooled) {
					client.off('error', onError);
					client.release(broken !== undefined && !isServerError(broken) ? broken : undefined);
				}
			}
		});
	}

	// --------------------------------------------------------- notifications

	/**
	 * Calls callback({ task_id, old_status, new_status }) for every status
	 * change the server notifies (taskdb.notify_status_changes must be on for
	 * the writers), over a connection of its own that is reopened after a
	 * restart.  Resolves once listening; close() the subscription to stop.
	 */
	async onStatusChange(callback, options = {}) {
		if (typeof callback !== 'function')
			throw new TypeError('onStatusChange: callback must be a function');
		if (this.#listenConfig === null)
			throw new TypeError('onStatusChange: this TaskDB has no pool; pass { listen: pg.ClientConfig } to new TaskDB()');
		return new StatusSubscription(this.#listenConfig, callback, options).start();
	}

	/**
	 * Resolves to the task's status_derived as soon as it is one of
	 * statuses: listens first, then reads it (and reads it again after every
	 * reconnect, since notifications sent meanwhile are lost).
	 */
	async waitForStatus(taskId, statuses, { timeoutMs } = {}) {
		uuidParam('waitForStatus', 'taskId', taskId);
		const wanted = new Set([].concat(statuses));
		let settle;
		const done = new Promise((resolve, reject) => {
			settle = { resolve, reject };
		});
		const sub = await this.onStatusChange((c) => {
			if (wanted.has(c.new_status))
				settle.resolve(c.new_status);
		}, { taskId });
		const check = async () => {
			const s = await this.statusDerived(taskId);
			if (s === null)
				settle.reject(new NotFoundError(`task ${taskId} does not exist`, { code: 'P0002' }));
			else if (wanted.has(s))
				settle.resolve(s);
		};
		sub.on('reconnect', () => check().catch((err) => {
			if (!(err instanceof ConnectionError))
				settle.reject(err);
		}));
		let timer;
		if (timeoutMs !== undefined)
			timer = setTimeout(() => settle.reject(new TimeoutError(
				`task ${taskId} did not reach ${[...wanted].join(' or ')} within ${timeoutMs} ms`)), timeoutMs);
		try {
			await check();
			return await done;
		} finally {
			clearTimeout(timer);
			await sub.close();
		}
	}
}
