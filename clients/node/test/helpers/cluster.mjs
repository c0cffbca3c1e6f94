// A throwaway PostgreSQL cluster that a test may restart and crash: the
// suite's shared cluster is never touched.  Binaries come from PG_CONFIG
// (the installation taskdb was installed into); as root the server runs as
// the postgres user (PostgreSQL refuses root).  It listens on a Unix socket
// in its own directory only, so its port number can collide with nothing.
import { execFile as execFileCb, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFile = promisify(execFileCb);

function bindir() {
	const pgConfig = process.env.PG_CONFIG ?? 'pg_config';
	try {
		return execFileSync(pgConfig, ['--bindir'], { encoding: 'utf8' }).trim();
	} catch {
		return '/usr/lib/postgresql/15/bin';
	}
}

const asRoot = process.getuid?.() === 0;

function pidAlive(pid) {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return err.code === 'EPERM';
	}
}

export async function startCluster({ settings = {}, port = 5432 } = {}) {
	const bin = bindir();
	const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskdb-node-'));
	fs.chmodSync(dir, 0o755);
	if (asRoot) {
		const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
		const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
		fs.chownSync(dir, uid, gid);
	}
	const run = (prog, args) => asRoot
		? execFile('runuser', ['-u', 'postgres', '--', path.join(bin, prog), ...args])
		: execFile(path.join(bin, prog), args);
	const data = path.join(dir, 'data');
	await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
	const conf = {
		port,
		listen_addresses: "''",
		unix_socket_directories: `'${dir}'`,
		shared_preload_libraries: "'taskdb'",
		fsync: 'on',
		restart_after_crash: 'on',
		max_connections: 60,
		...settings,
	};
	fs.appendFileSync(path.join(data, 'postgresql.conf'),
		Object.entries(conf).map(([k, v]) => `${k} = ${v}\n`).join(''));

	const cluster = {
		dir,
		data,
		connection: { host: dir, port, user: 'postgres', database: 'postgres', password: '' },
		async start() {
			await run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', 'start']);
		},
		async restart() {
			await run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-t', '60', '-m', 'fast', 'restart']);
		},
		postmasterPid() {
			return Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
		},
		/** SIGKILL to the postmaster and every process it started, at once; waits until all are gone. */
		async kill9() {
			const pm = this.postmasterPid();
			const children = [];
			for (const name of fs.readdirSync('/proc')) {
				if (!/^\d+$/.test(name))
					continue;
				let stat;
				try {
					stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
				} catch {
					continue;
				}
				const m = /\) \S (\d+)/.exec(stat);
				if (m !== null && Number(m[1]) === pm)
					children.push(Number(name));
			}
			for (const pid of [pm, ...children]) {
				try {
					process.kill(pid, 'SIGKILL');
				} catch {
					// gone already
				}
			}
			const until = Date.now() + 30000;
			while ([pm, ...children].some(pidAlive)) {
				if (Date.now() > until)
					throw new Error(`processes of the killed server still alive after 30 s: ${[pm, ...children].filter(pidAlive)}`);
				await sleep(50);
			}
			return 1 + children.length;
		},
		log() {
			try {
				return fs.readFileSync(path.join(dir, 'log'), 'utf8');
			} catch {
				return '';
			}
		},
		async destroy() {
			try {
				await run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
			} catch {
				// not running
			}
			fs.rmSync(dir, { recursive: true, force: true });
		},
	};
	await cluster.start();
	return cluster;
}
