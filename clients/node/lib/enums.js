// The value lists of taskdb's columns and results, as frozen objects whose
// keys are their values (TaskStatus.in_progress === 'in_progress').  The
// server checks every value; these are for code completion and switches.

const values = (...names) => Object.freeze(Object.fromEntries(names.map((n) => [n, n])));

/** tasks.status: what the caller stored. */
export const TaskStatus = values('pending', 'in_progress', 'completed', 'failed', 'cancelled', 'retracted');
/** tasks.priority. */
export const TaskPriority = values('critical', 'high', 'medium', 'low');
/** runs.status. */
export const RunStatus = values('queued', 'running', 'completed', 'failed', 'cancelled');
/** gates.status. */
export const GateStatus = values('pending', 'pass', 'fail', 'skipped');
/** gates.type. */
export const GateType = values('lint', 'policy', 'security', 'quality', 'truth');
/** task_status.status_derived: what the runs and gates say (first match wins, in this order). */
export const StatusDerived = values('failed', 'pending', 'in_progress', 'completed', 'blocked');
/** Kinds of provenance claims. */
export const ClaimKind = values('task_id', 'run_id', 'gate_id', 'artifact_hash', 'status_derived');
/** A verified claim's verdict. */
export const VerificationStatus = values('PASS', 'FAIL');
/** A doctor check's result. */
export const CheckStatus = values('pass', 'warn', 'fail');
/** doctor's verdict: excellent (all pass), degraded (some warn), failing (any fail). */
export const SystemHealth = values('excellent', 'degraded', 'failing');
