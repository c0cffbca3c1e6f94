// taskdb: the original plan's JavaScript API over the taskdb PostgreSQL
// extension, on node-postgres.  See README.md.

import { TaskDB } from './lib/taskdb.js';

export { TaskDB };
export { STATUS_CHANNEL, StatusSubscription, parseStatusChange } from './lib/notifications.js';
export { SyntheticLoad, parseProgress } from './lib/synthetic.js';
export {
	TaskDBError, InvalidInputError, NotFoundError, ConflictError, PermissionError, StateError,
	SerializationError, ConnectionError, ExtensionNotInstalledError, TimeoutError, toTaskDBError,
} from './lib/errors.js';
export {
	TaskStatus, TaskPriority, RunStatus, GateStatus, GateType, StatusDerived, ClaimKind,
	VerificationStatus, CheckStatus, SystemHealth,
} from './lib/enums.js';

/** new TaskDB(options): a pool of its own from a pg.PoolConfig, or { pool } / { client } of yours. */
export function createTaskDB(options) {
	return new TaskDB(options);
}
