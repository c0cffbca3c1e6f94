// onStatusChange(): LISTEN taskdb_status on a connection of its own, and
// connect again, with backoff, whenever that connection is lost (a server
// restart, a crash, a network failure).
//
// What the server sends (src/notify.c): with taskdb.notify_status_changes
// on, one notification per task whose status_derived a transaction changed,
// at its commit, in commit order per task.  Notifications sent while the
// listener is disconnected are lost: 'reconnect' is the moment to read again
// whatever the program is waiting for (waitForStatus() does).

import { EventEmitter } from 'node:events';
import pg from 'pg';

import { ConnectionError, toTaskDBError } from './errors.js';

/** The channel taskdb notifies on. */
export const STATUS_CHANNEL = 'taskdb_status';

const STATUSES = new Set(['failed', 'pending', 'in_progress', 'completed', 'blocked']);

/**
 * A payload as the server writes it, or null.  Anyone who can connect can
 * NOTIFY on the channel too, so the shape is checked.
 */
export function parseStatusChange(payload) {
	let v;
	try {
		v = JSON.parse(payload);
	} catch {
		return null;
	}
	if (v === null || typeof v !== 'object' || typeof v.task_id !== 'string' ||
		!STATUSES.has(v.new_status) || !(v.old_status === null || STATUSES.has(v.old_status)))
		return null;
	return { task_id: v.task_id, old_status: v.old_status, new_status: v.new_status };
}

export class StatusSubscription extends EventEmitter {
	#config;
	#callback;
	#tasks;
	#minDelay;
	#maxDelay;
	#client = null;
	#closed = false;
	#timer = null;
	#attempt = 0;

	constructor(config, callback, options = {}) {
		super();
		this.#config = { keepAlive: true, ...config };
		this.#callback = callback;
		const ids = options.taskId === undefined ? null : [].concat(options.taskId);
		this.#tasks = ids === null ? null : new Set(ids.map((id) => String(id).toLowerCase()));
		this.#minDelay = options.reconnect?.minDelayMs ?? 100;
		this.#maxDelay = options.reconnect?.maxDelayMs ?? 5000;
	}

	/** True while a LISTEN connection is up. */
	get connected() {
		return this.#client !== null;
	}

	/** Connects and LISTENs; the first failure is thrown (no retry). */
	async start() {
		await this.#connect();
		return this;
	}

	async #connect() {
		const client = new pg.Client(this.#config);
		let ended = false;
		client.on('notification', (msg) => this.#deliver(msg));
		// 'error' without a listener would throw; a lost connection is
		// reported once, as 'disconnect', by #lost.
		client.on('error', (err) => this.#lost(client, err));
		client.on('end', () => {
			ended = true;
			this.#lost(client);
		});
		try {
			await client.connect();
			await client.query(`LISTEN ${STATUS_CHANNEL}`);
		} catch (err) {
			client.end().catch(() => {});
			throw toTaskDBError(err);
		}
		if (this.#closed) {
			await client.end().catch(() => {});
			return;
		}
		this.#client = client;
		if (ended)
			this.#lost(client);
	}

	#deliver(msg) {
		if (msg.channel !== STATUS_CHANNEL)
			return;
		const change = parseStatusChange(msg.payload);
		if (change === null) {
			this.emit('malformed', msg.payload);
			return;
		}
		if (this.#tasks !== null && !this.#tasks.has(change.task_id))
			return;
		// Outside node-postgres's parser, so a throwing callback cannot
		// leave the connection half-read.
		queueMicrotask(() => this.#callback(change));
	}

	#lost(client, err) {
		if (client !== this.#client || this.#closed)
			return;
		this.#client = null;
		client.end().catch(() => {});
		this.emit('disconnect', err === undefined
			? new ConnectionError('the notification connection ended')
			: toTaskDBError(err));
		this.#schedule();
	}

	#schedule() {
		const delay = Math.min(this.#maxDelay, this.#minDelay * 2 ** Math.min(this.#attempt, 16));
		this.#attempt++;
		this.#timer = setTimeout(async () => {
			this.#timer = null;
			if (this.#closed)
				return;
			try {
				await this.#connect();
			} catch (err) {
				this.emit('retry', err, this.#attempt);
				if (!this.#closed)
					this.#schedule();
				return;
			}
			if (this.#client !== null) {
				this.#attempt = 0;
				this.emit('reconnect');
			}
		}, delay);
	}

	/** Stops listening and closes the connection; no callback runs after it resolves. */
	async close() {
		this.#closed = true;
		if (this.#timer !== null) {
			clearTimeout(this.#timer);
			this.#timer = null;
		}
		const client = this.#client;
		this.#client = null;
		if (client !== null)
			await client.end().catch(() => {});
	}
}
