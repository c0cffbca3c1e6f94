// Type declarations of the taskdb package (hand-written; index.js is the code).

import type { EventEmitter } from 'node:events';
import type { ClientBase, ClientConfig, Pool, PoolConfig } from 'pg';

// ---------------------------------------------------------------- values

type ValuesOf<T extends string> = { readonly [K in T]: K };

/** tasks.status: what the caller stored. */
export type TaskStatus = 'pending' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'retracted';
export declare const TaskStatus: ValuesOf<TaskStatus>;
/** tasks.priority. */
export type TaskPriority = 'critical' | 'high' | 'medium' | 'low';
export declare const TaskPriority: ValuesOf<TaskPriority>;
/** runs.status. */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export declare const RunStatus: ValuesOf<RunStatus>;
/** gates.status. */
export type GateStatus = 'pending' | 'pass' | 'fail' | 'skipped';
export declare const GateStatus: ValuesOf<GateStatus>;
/** gates.type. */
export type GateType = 'lint' | 'policy' | 'security' | 'quality' | 'truth';
export declare const GateType: ValuesOf<GateType>;
/** What the runs and gates say: failed, else pending (no runs), else in_progress, else completed (no failed gate), else blocked. */
export type StatusDerived = 'failed' | 'pending' | 'in_progress' | 'completed' | 'blocked';
export declare const StatusDerived: ValuesOf<StatusDerived>;
/** Kinds of provenance claims. */
export type ClaimKind = 'task_id' | 'run_id' | 'gate_id' | 'artifact_hash' | 'status_derived';
export declare const ClaimKind: ValuesOf<ClaimKind>;
/** A verified claim's verdict. */
export type VerificationStatus = 'PASS' | 'FAIL';
export declare const VerificationStatus: ValuesOf<VerificationStatus>;
/** A doctor check's result. */
export type CheckStatus = 'pass' | 'warn' | 'fail';
export declare const CheckStatus: ValuesOf<CheckStatus>;
/** doctor's verdict. */
export type SystemHealth = 'excellent' | 'degraded' | 'failing';
export declare const SystemHealth: ValuesOf<SystemHealth>;

/** A uuid in its canonical text form. */
export type Uuid = string;
/** Any JSON value (jsonb columns). */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

// ------------------------------------------------------------------ rows

export interface NewTask {
	title: string;
	policy_version: string;
	description?: string | null;
	priority?: TaskPriority;
	status?: TaskStatus;
	feature?: string | null;
	owner?: string | null;
	summary?: string | null;
	dependencies?: Json;
	metadata?: Json;
}

export interface NewRun {
	task_id: Uuid;
	status?: RunStatus;
	tool_calls?: Json;
	metrics?: Json;
}

export interface NewGate {
	run_id: Uuid;
	name: string;
	type: GateType;
	status?: GateStatus;
	checks?: Json;
}

/** A taskdb.runs row. */
export interface Run {
	id: Uuid;
	task_id: Uuid;
	status: RunStatus;
	tool_calls: Json;
	metrics: Json;
	started_at: Date | null;
	finished_at: Date | null;
	created_at: Date;
	updated_at: Date;
}

/** A taskdb.gates row. */
export interface Gate {
	id: Uuid;
	run_id: Uuid;
	task_id: Uuid;
	name: string;
	type: GateType;
	status: GateStatus;
	checks: Json;
	created_at: Date;
}

export interface SystemStats {
	total_tasks: number;
	total_runs: number;
	total_gates: number;
	total_artifacts: number;
	tasks_by_status: Partial<Record<TaskStatus, number>>;
	runs_by_status: Partial<Record<RunStatus, number>>;
	gates_by_status: Partial<Record<GateStatus, number>>;
	/** Tasks per status_derived, from the summary. */
	status_derived: Partial<Record<StatusDerived, number>>;
}

// ------------------------------------------------------------ provenance

/** A claim to publish. expected: the status the claim states (default: the value at the snapshot). */
export type Claim =
	| { kind: 'task_id'; id: Uuid; expected?: TaskStatus }
	| { kind: 'run_id'; id: Uuid; expected?: RunStatus }
	| { kind: 'gate_id'; id: Uuid; expected?: GateStatus }
	| { kind: 'status_derived'; id: Uuid; expected?: StatusDerived }
	| { kind: 'artifact_hash'; id?: Uuid; hash?: string };

/** A claim as recorded in a published report. */
export interface ClaimRecord {
	kind: ClaimKind;
	claim: string;
	id?: Uuid;
	hash?: string;
	expected: string | null;
	at_snapshot: string | null;
}

/** A signed report, as publishReport() returns it and verifyProvenance() takes it. */
export interface Report {
	format: string;
	report_id: Uuid;
	/** Unique and strictly increasing across publishers. */
	verification_snapshot_ts: string;
	snapshot: string;
	database: string;
	published_by: string;
	claims_validated: ClaimRecord[];
	signature: string;
}

export interface VerificationResult {
	/** "task_id:<uuid>", ... or "signature". */
	claim: string;
	kind: ClaimKind | 'signature';
	status: VerificationStatus;
	expected: string | null;
	actual: string | null;
	/** Why a claim fails: changed after snapshot, deleted after snapshot, ... (null on PASS). */
	mismatch: string | null;
	changed_at: Date | null;
}

export interface Verification {
	/** Every claim and the signature PASS. */
	passed: boolean;
	results: VerificationResult[];
}

// ------------------------------------------------------------ operations

export interface DoctorCheck {
	name: string;
	status: CheckStatus;
	detail: string;
}

export interface Diagnostics {
	summary: {
		system_health: SystemHealth;
		passed: number;
		warned: number;
		failed: number;
		detail: string;
	};
	checks: DoctorCheck[];
}

export interface SyntheticSizes {
	tasks: number;
	runs_per_task?: number;
	gates_per_run?: number;
	/** Default: 5 per task. */
	artifacts?: number | null;
	seed?: number;
}

export interface SyntheticProgress {
	tasks_done: number;
	tasks_total: number;
	percent: number;
	runs: number;
	gates: number;
	artifacts: number;
	events: number;
	seconds: number;
}

export interface SyntheticTotals {
	tasks_created: number;
	runs_created: number;
	gates_created: number;
	artifacts_created: number;
	events_written: number;
}

/** A promise of the totals that emits 'progress' after every chunk. */
export declare class SyntheticLoad extends EventEmitter implements PromiseLike<SyntheticTotals> {
	then<A = SyntheticTotals, B = never>(
		onFulfilled?: ((value: SyntheticTotals) => A | PromiseLike<A>) | null,
		onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B>;
	catch<B = never>(onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<SyntheticTotals | B>;
	finally(onFinally?: (() => void) | null): Promise<SyntheticTotals>;
	on(event: 'progress', listener: (progress: SyntheticProgress) => void): this;
	once(event: 'progress', listener: (progress: SyntheticProgress) => void): this;
}

// --------------------------------------------------------- notifications

/** The channel taskdb notifies on: 'taskdb_status'. */
export declare const STATUS_CHANNEL: 'taskdb_status';

/** One notification: a committed change of a task's status_derived. */
export interface StatusChange {
	task_id: Uuid;
	/** null when the transaction also truncated runs or gates or rebuilt the summary. */
	old_status: StatusDerived | null;
	new_status: StatusDerived;
}

export interface StatusChangeOptions {
	/** Only these tasks. */
	taskId?: Uuid | Uuid[];
	/** Delays between reconnection attempts, doubling from min to max (default 100 and 5000 ms). */
	reconnect?: { minDelayMs?: number; maxDelayMs?: number };
}

export declare class StatusSubscription extends EventEmitter {
	readonly connected: boolean;
	close(): Promise<void>;
	/** The connection was lost; reconnecting.  Changes until 'reconnect' are not delivered. */
	on(event: 'disconnect', listener: (error: TaskDBError) => void): this;
	/** Listening again: read again whatever you are waiting for. */
	on(event: 'reconnect', listener: () => void): this;
	/** A reconnection attempt failed; another follows. */
	on(event: 'retry', listener: (error: unknown, attempt: number) => void): this;
	/** Someone notified the channel with a payload that is not taskdb's. */
	on(event: 'malformed', listener: (payload: string | undefined) => void): this;
}

export declare function parseStatusChange(payload: string): StatusChange | null;
export declare function parseProgress(message: string): SyntheticProgress | null;

// ---------------------------------------------------------------- client

/** Per call: run on this client (inside its transaction) instead of the pool. */
export interface CallOptions {
	client?: ClientBase;
}

export interface TaskDBOptions extends PoolConfig {
	/** Your pool; end() leaves it open. */
	pool?: Pool;
	/** Run every call on this client. */
	client?: ClientBase;
	/** Where onStatusChange() connects when there is no pool. */
	listen?: ClientConfig;
}

export type IsolationLevel = 'read committed' | 'repeatable read' | 'serializable';

export declare class TaskDB {
	constructor(options?: TaskDBOptions);
	readonly pool: Pool | null;
	readonly doctor: {
		/** taskdb.doctor(): the checks and the verdict; sample checks that many random tasks and reports. */
		runDiagnostics(options?: { sample?: number | null }, call?: CallOptions): Promise<Diagnostics>;
	};
	withClient(client: ClientBase): TaskDB;
	transaction<T>(fn: (tx: TaskDB) => Promise<T>, options?: { isolationLevel?: IsolationLevel }): Promise<T>;
	end(): Promise<void>;

	createTask(task: NewTask, call?: CallOptions): Promise<Uuid>;
	createRun(run: NewRun, call?: CallOptions): Promise<Uuid>;
	createGate(gate: NewGate, call?: CallOptions): Promise<Uuid>;
	setRunStatus(runId: Uuid, status: RunStatus, call?: CallOptions): Promise<Run>;
	setGateStatus(gateId: Uuid, status: GateStatus, call?: CallOptions): Promise<Gate>;
	statusDerived(taskId: Uuid, call?: CallOptions): Promise<StatusDerived | null>;
	getSystemStats(call?: CallOptions): Promise<SystemStats>;
	publishReport(claims: Claim[] | string, call?: CallOptions): Promise<Report>;
	verifyProvenance(report: Report | string, call?: CallOptions): Promise<Verification>;
	debugProvenance(report: Report | string, options?: { verbose?: boolean }, call?: CallOptions): Promise<string[]>;
	exportHash(call?: CallOptions): Promise<string>;
	loadSynthetic(sizes: SyntheticSizes,
		options?: CallOptions & { onProgress?: (progress: SyntheticProgress) => void }): SyntheticLoad;
	onStatusChange(callback: (change: StatusChange) => void, options?: StatusChangeOptions): Promise<StatusSubscription>;
	waitForStatus(taskId: Uuid, statuses: StatusDerived | StatusDerived[], options?: { timeoutMs?: number }): Promise<StatusDerived>;
}

export declare function createTaskDB(options?: TaskDBOptions): TaskDB;

// ---------------------------------------------------------------- errors

export interface ServerErrorFields {
	code?: string;
	detail?: string;
	hint?: string;
	severity?: string;
	where?: string;
	schema?: string;
	table?: string;
	column?: string;
	constraint?: string;
}

/** Anything the server refused, or a lost connection. code is the SQLSTATE. */
export declare class TaskDBError extends Error {
	constructor(message: string, fields?: ServerErrorFields, options?: { cause?: unknown });
	readonly code: string | undefined;
	readonly detail: string | undefined;
	readonly hint: string | undefined;
	readonly severity: string | undefined;
	readonly where: string | undefined;
	readonly schema: string | undefined;
	readonly table: string | undefined;
	readonly column: string | undefined;
	readonly constraint: string | undefined;
}
/** Class 22, 23502, 23514, 54000: a bad value. */
export declare class InvalidInputError extends TaskDBError {}
/** P0002, 23503: something named does not exist. */
export declare class NotFoundError extends TaskDBError {}
/** 23505 and other integrity violations. */
export declare class ConflictError extends TaskDBError {}
/** 42501. */
export declare class PermissionError extends TaskDBError {}
/** Classes 25 and 55: not in this state (e.g. publishing after writing in the same transaction). */
export declare class StateError extends TaskDBError {}
/** 40001, 40P01: retry the transaction. */
export declare class SerializationError extends TaskDBError {
	readonly retryable: true;
}
/** Class 08, 57P01-57P03, or the socket closed. */
export declare class ConnectionError extends TaskDBError {}
/** The taskdb extension is missing or older than this package. */
export declare class ExtensionNotInstalledError extends TaskDBError {}
/** waitForStatus() gave up. */
export declare class TimeoutError extends TaskDBError {}
export declare function toTaskDBError(err: unknown): unknown;
