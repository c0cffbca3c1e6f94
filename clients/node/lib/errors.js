// Server errors as classes.  Every error thrown by this package for
// something the server said is a TaskDBError carrying the server's SQLSTATE
// (code), message, detail and hint; the subclass says what kind of problem
// it is, so callers can catch by class instead of matching strings.

/** Base class: anything the server refused, or a lost connection. */
export class TaskDBError extends Error {
	constructor(message, fields = {}, options = undefined) {
		super(message, options);
		this.name = new.target.name;
		/** SQLSTATE, e.g. '22023'; undefined when the server never answered. */
		this.code = fields.code;
		this.detail = fields.detail;
		this.hint = fields.hint;
		this.severity = fields.severity;
		this.where = fields.where;
		this.schema = fields.schema;
		this.table = fields.table;
		this.column = fields.column;
		this.constraint = fields.constraint;
	}
}

/** A bad value: class 22 (data exception), NOT NULL and CHECK violations, size limits (54000). */
export class InvalidInputError extends TaskDBError {}
/** Something named does not exist: no_data_found (P0002), or a foreign key pointing nowhere (23503). */
export class NotFoundError extends TaskDBError {}
/** A row with that key exists already (23505) or another integrity rule says no (23000, 23P01). */
export class ConflictError extends TaskDBError {}
/** The role lacks a privilege (42501). */
export class PermissionError extends TaskDBError {}
/** Not in this state: invalid transaction state (class 25, e.g. publishing after writing), object not in prerequisite state (class 55). */
export class StateError extends TaskDBError {}
/** A serialization failure or deadlock (40001, 40P01): retrying the whole transaction may succeed. */
export class SerializationError extends TaskDBError {
	get retryable() {
		return true;
	}
}
/** The connection failed or was lost (class 08, 57P01-57P03, or the socket closed). */
export class ConnectionError extends TaskDBError {}
/** The taskdb extension is missing from the database, or older than this package. */
export class ExtensionNotInstalledError extends TaskDBError {}
/** waitForStatus() gave up. */
export class TimeoutError extends TaskDBError {}

const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH']);

function classFor(code, message) {
	if (code === '3F000' || (code === '42883' && /taskdb\./.test(message)))
		return ExtensionNotInstalledError;
	if (code === 'P0002' || code === '02000' || code === '23503')
		return NotFoundError;
	if (code === '23502' || code === '23514' || code.startsWith('22') || code === '54000')
		return InvalidInputError;
	if (code.startsWith('23'))
		return ConflictError;
	if (code === '42501')
		return PermissionError;
	if (code.startsWith('25') || code.startsWith('55'))
		return StateError;
	if (code === '40001' || code === '40P01')
		return SerializationError;
	if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03')
		return ConnectionError;
	return TaskDBError;
}

/**
 * The TaskDBError for an error node-postgres threw: a server error by its
 * SQLSTATE, a socket failure as ConnectionError.  Anything else (a
 * TypeError of ours, an already converted error) is returned unchanged.
 */
export function toTaskDBError(err) {
	if (err instanceof TaskDBError || err == null || typeof err !== 'object')
		return err;
	if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) && err.severity !== undefined) {
		const Class = classFor(err.code, String(err.message));
		let hint = err.hint;
		if (Class === ExtensionNotInstalledError && hint === undefined)
			hint = 'Run CREATE EXTENSION taskdb (or ALTER EXTENSION taskdb UPDATE) in this database as a superuser.';
		return new Class(err.message, {
			code: err.code,
			detail: err.detail,
			hint,
			severity: err.severity,
			where: err.where,
			schema: err.schema,
			table: err.table,
			column: err.column,
			constraint: err.constraint,
		}, { cause: err });
	}
	if (SOCKET_CODES.has(err.code) ||
		/Connection terminated|connection (is )?closed|Client has encountered a connection error|Client was closed/i.test(String(err.message)))
		return new ConnectionError(String(err.message), {}, { cause: err });
	return err;
}
