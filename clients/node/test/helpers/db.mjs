// A database of its own for each test file, on the cluster the libpq
// environment variables name (PGHOST, PGPORT, PGUSER, PGPASSWORD): the
// suite's throwaway cluster, or any cluster where the role may create
// databases and extensions.
import pg from 'pg';

async function admin(fn) {
	const c = new pg.Client({ database: process.env.TASKDB_TEST_ADMIN_DB ?? 'postgres' });
	await c.connect();
	try {
		return await fn(c);
	} finally {
		await c.end();
	}
}

/** Creates database `name` afresh with the taskdb extension; returns its connection settings. */
export async function freshDatabase(name, { extension = true, settings = {} } = {}) {
	if (!/^[a-z_][a-z0-9_]*$/.test(name))
		throw new Error(`freshDatabase: "${name}" is not a plain lower-case identifier`);
	await admin(async (c) => {
		await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
		await c.query(`CREATE DATABASE ${name}`);
		for (const [k, v] of Object.entries(settings))
			await c.query(`ALTER DATABASE ${name} SET ${k} = ${pg.Client.prototype.escapeLiteral(String(v))}`);
	});
	if (extension) {
		const c = new pg.Client({ database: name });
		await c.connect();
		await c.query('SET client_min_messages = warning');
		await c.query('CREATE EXTENSION taskdb');
		await c.end();
	}
	return { database: name };
}

export async function dropDatabase(name) {
	await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

/** Connections a test may open beside what is running: max_connections minus those in use and a margin. */
export async function freeConnections(config) {
	const c = new pg.Client(config);
	await c.connect();
	try {
		const r = await c.query(`SELECT current_setting('max_connections')::int
		                              - current_setting('superuser_reserved_connections')::int
		                              - (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS free`);
		return r.rows[0].free - 5;
	} finally {
		await c.end();
	}
}
