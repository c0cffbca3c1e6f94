/*-------------------------------------------------------------------------
 *
 * metrics_http.c
 *	  The optional background worker that serves GET /metrics over HTTP.
 *
 * With taskdb in shared_preload_libraries and taskdb.metrics_port > 0, the
 * postmaster starts one worker, "taskdb metrics", listening on
 * taskdb.metrics_listen_address (127.0.0.1 unless configured) at that port.
 * It answers GET /metrics with the text of taskdb.metrics(), built straight
 * from shared memory: no database, no transaction, no lock.
 *
 * Protocol
 * --------
 * One process, one thread, no blocking call.  The listening sockets and every
 * client socket are non-blocking, and the worker sleeps only in
 * WaitEventSetWait() on them together with its latch (SIGHUP, SIGTERM) and
 * postmaster death (it exits at once when the postmaster dies).  The wait
 * set is rebuilt on each turn of the loop: that costs an epoll_create per
 * turn, which is nothing at scrape rates, and keeps the set equal to the
 * clients without bookkeeping of positions.
 *
 * A client has CLIENT_TIMEOUT_MS from accept() to send its request and read
 * the answer; then it is dropped.  At most MAX_CLIENTS are held.  Pending
 * connections are accepted as soon as the listening socket is readable,
 * each taking a free slot or evicting the client that can best lose it
 * (client_slot): one that has its answer, else a silent or half-sent one,
 * the oldest first and one younger than EVICT_IDLE_MS only when every
 * other client is too.  So connections never pile up in the kernel's
 * backlog, where a scrape would wait behind silent clients for the
 * kernel's SYN retransmissions (1 s, 3 s, 7 s...), and a scrape that is
 * accepted is read at once and answered in the same turn of the loop: a
 * flood of silent connections shortens how long silent clients are held,
 * not how long a scrape waits.
 *
 * A request is read up to REQUEST_MAX bytes.  Only "GET /metrics" (with or
 * without a query string) answers 200; another method on /metrics gets 405,
 * another path 404, a malformed request 400, an oversized one 431.  Every
 * answer carries "Connection: close"; after sending it the worker shuts down
 * its side and drains what the client still sends for up to LINGER_MS, so
 * the client reads the whole answer instead of a reset.
 *
 * The worker calls no PostgreSQL API from anywhere but its own main loop;
 * it has no second thread.  If it fails (cannot bind its port, say), it
 * exits with status 1, and the postmaster starts it again after
 * RESTART_SECONDS; the same after pg_terminate_backend().
 * pg_cancel_backend() is ignored: there is no statement to cancel.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat.h"
#include "taskdb.h"

/* GUCs, defined in taskdb.c. */
int			taskdb_metrics_port = 0;
char	   *taskdb_metrics_listen_address = NULL;

#define MAX_LISTEN			4		/* one per address getaddrinfo returns */

/*
 * Clients held at once.  With EVICT_IDLE_MS it sets how many connections a
 * second can arrive before a client can be evicted in its first
 * EVICT_IDLE_MS: 256.  Beyond that, silent clients are held for less (128
 * ms at 1000 a second), still far longer than a scraper takes to send its
 * request after connecting.  Each turn of the loop costs one epoll_ctl per
 * client held, so more slots would cost CPU under a flood for no gain.
 */
#define MAX_CLIENTS			128
#define REQUEST_MAX			8192	/* request line and headers */
#define CLIENT_TIMEOUT_MS	5000
#define LINGER_MS			1000
#define RESTART_SECONDS		5
#define ACCEPT_PAUSE_MS		100
#define EVICT_IDLE_MS		500		/* a client this young is evicted last */
#define FULL_PAUSE_MS		20		/* no slot: accept again after this */

typedef enum ClientState
{
	CLIENT_FREE,
	CLIENT_READING,				/* waiting for the end of the headers */
	CLIENT_WRITING,				/* sending the answer */
	CLIENT_DRAINING				/* answer sent; reading until EOF */
} ClientState;

typedef struct HttpClient
{
	ClientState state;
	pgsocket	sock;
	TimestampTz accepted_at;
	TimestampTz deadline;
	int			nread;
	char		request[REQUEST_MAX];
	char	   *reply;			/* palloc'd in http_context */
	int			reply_len;
	int			nsent;
} HttpClient;

static pgsocket listen_socks[MAX_LISTEN];
static int	nlisten = 0;
static HttpClient clients[MAX_CLIENTS];
static MemoryContext http_context = NULL;
static TimestampTz accept_paused_until = 0;

static void client_read(HttpClient *c);
static void client_write(HttpClient *c);

/*
 * Called from _PG_init while shared_preload_libraries is being processed:
 * one worker when the port is set.
 */
void
metrics_http_register(void)
{
	BackgroundWorker worker;

	if (!process_shared_preload_libraries_in_progress || taskdb_metrics_port == 0)
		return;

	memset(&worker, 0, sizeof(worker));
	/* A "connection" to no database: a pg_stat_activity row, nothing else. */
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* ConsistentState: a hot standby serves its metrics too. */
	worker.bgw_start_time = BgWorkerStart_ConsistentState;
	worker.bgw_restart_time = RESTART_SECONDS;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "taskdb");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "taskdb_metrics_http_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "taskdb metrics endpoint on port %d",
			 taskdb_metrics_port);
	snprintf(worker.bgw_type, BGW_MAXLEN, "taskdb metrics");
	RegisterBackgroundWorker(&worker);
}

/* Bind every address taskdb.metrics_listen_address resolves to. */
static void
http_listen(void)
{
	struct addrinfo hints;
	struct addrinfo *res;
	struct addrinfo *ai;
	char		port[16];
	const char *host = taskdb_metrics_listen_address;
	int			rc;
	int			saved_errno = 0;

	if (host == NULL || host[0] == '\0' || strcmp(host, "*") == 0)
		host = NULL;			/* every local address */
	snprintf(port, sizeof(port), "%d", taskdb_metrics_port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &res);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("could not resolve taskdb.metrics_listen_address \"%s\": %s",
						taskdb_metrics_listen_address, gai_strerror(rc)),
				 errhint("Set taskdb.metrics_listen_address to an IP address or host name of this machine, such as 127.0.0.1.")));

	for (ai = res; ai != NULL && nlisten < MAX_LISTEN; ai = ai->ai_next)
	{
		pgsocket	sock = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		int			one = 1;

		if (sock == PGINVALID_SOCKET)
		{
			saved_errno = errno;
			continue;
		}
		(void) setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
#ifdef IPV6_V6ONLY
		if (ai->ai_family == AF_INET6)
			(void) setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
#endif
		if (bind(sock, ai->ai_addr, ai->ai_addrlen) < 0 ||
			listen(sock, MAX_CLIENTS) < 0 || !pg_set_noblock(sock))
		{
			saved_errno = errno;
			closesocket(sock);
			continue;
		}
		listen_socks[nlisten++] = sock;
	}
	freeaddrinfo(res);

	if (nlisten == 0)
	{
		errno = saved_errno;
		ereport(ERROR,
				(errcode_for_socket_access(),
				 errmsg("could not listen for the taskdb metrics endpoint on \"%s\" port %d: %m",
						taskdb_metrics_listen_address, taskdb_metrics_port),
				 errhint("Is another program using the port? Choose another taskdb.metrics_port; the endpoint is tried again in %d seconds.",
						 RESTART_SECONDS)));
	}
	ereport(LOG,
			(errmsg("taskdb metrics endpoint listening on \"%s\" port %d",
					taskdb_metrics_listen_address, taskdb_metrics_port)));
}

static void
client_close(HttpClient *c)
{
	if (c->state == CLIENT_FREE)
		return;
	closesocket(c->sock);
	if (c->reply)
		pfree(c->reply);
	c->reply = NULL;
	c->state = CLIENT_FREE;
}

/*
 * The slot a new connection takes: a free one, else a client to evict.
 * Victims, in this order: a client whose answer is already sent (closing
 * it loses nothing), then one accepted EVICT_IDLE_MS ago or more that has
 * sent nothing, then such a one that has sent part of a request, then the
 * same two classes among younger clients (they may not have had the time
 * to speak yet); oldest first in each class.  A client whose answer is
 * being written is never evicted.  NULL: every slot is writing; leave the
 * connection in the backlog.
 *
 * Evicting a young client only when all are young is what keeps accepting
 * at the rate connections arrive: a flood then holds each silent client
 * for less time, instead of filling the backlog that scrapes wait in.
 */
static HttpClient *
client_slot(TimestampTz call_start)
{
	TimestampTz young_since = TimestampTzPlusMilliseconds(call_start, -EVICT_IDLE_MS);
	HttpClient *best = NULL;
	int			best_class = 0;
	int			i;

	for (i = 0; i < MAX_CLIENTS; i++)
	{
		HttpClient *c = &clients[i];
		int			class;

		if (c->state == CLIENT_FREE)
			return c;
		if (c->state == CLIENT_DRAINING)
			class = 5;
		else if (c->state == CLIENT_READING)
			class = (c->accepted_at <= young_since ? 3 : 1) + (c->nread == 0 ? 1 : 0);
		else
			continue;
		if (best == NULL || class > best_class ||
			(class == best_class && c->accepted_at < best->accepted_at))
		{
			best = c;
			best_class = class;
		}
	}
	return best;
}

/*
 * Accept the connections pending on one listening socket, up to
 * MAX_CLIENTS of them in one call so that a connection storm cannot starve
 * the clients already held; the socket stays readable for the rest.  Each
 * new client is read at once: a scraper usually sends its request together
 * with the end of the handshake, and is then answered before a later
 * connection of the same batch could evict it.  So silent or half-sent
 * clients cannot keep a scrape out, and a burst of scrapes (up to
 * MAX_CLIENTS) does not evict its own members.  On an error other than
 * "nothing pending" (out of descriptors, say) accepting pauses for
 * ACCEPT_PAUSE_MS, or the readable socket would spin the loop.
 */
static void
client_accept(pgsocket lsock)
{
	TimestampTz call_start = GetCurrentTimestamp();
	int			n;

	for (n = 0; n < MAX_CLIENTS; n++)
	{
		HttpClient *slot = client_slot(call_start);
		pgsocket	sock;

		if (slot == NULL)
		{
			/* Full: look again shortly, not at once (the socket stays readable). */
			accept_paused_until = TimestampTzPlusMilliseconds(call_start, FULL_PAUSE_MS);
			return;
		}
		sock = accept(lsock, NULL, NULL);
		if (sock == PGINVALID_SOCKET)
		{
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				errno != ECONNABORTED)
				accept_paused_until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																  ACCEPT_PAUSE_MS);
			return;
		}
		if (!pg_set_noblock(sock))
		{
			closesocket(sock);
			continue;
		}
		client_close(slot);
		slot->state = CLIENT_READING;
		slot->sock = sock;
		slot->accepted_at = GetCurrentTimestamp();
		slot->deadline = TimestampTzPlusMilliseconds(slot->accepted_at, CLIENT_TIMEOUT_MS);
		slot->nread = 0;
		slot->reply = NULL;
		slot->reply_len = slot->nsent = 0;

		client_read(slot);
		if (slot->state == CLIENT_WRITING)
			client_write(slot);
	}
}

/* Make the answer: status line, headers, body. */
static void
client_reply(HttpClient *c, int status, const char *reason,
			 const char *extra_header, const char *body, int body_len)
{
	MemoryContext old = MemoryContextSwitchTo(http_context);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf,
					 "HTTP/1.1 %d %s\r\n"
					 "Content-Type: %s\r\n"
					 "Content-Length: %d\r\n"
					 "%s"
					 "Connection: close\r\n\r\n",
					 status, reason,
					 status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
					 : "text/plain; charset=utf-8",
					 body_len, extra_header ? extra_header : "");
	appendBinaryStringInfo(&buf, body, body_len);
	MemoryContextSwitchTo(old);

	c->reply = buf.data;
	c->reply_len = buf.len;
	c->nsent = 0;
	c->state = CLIENT_WRITING;
}

static void
client_reply_error(HttpClient *c, int status, const char *reason,
				   const char *extra_header, const char *message)
{
	client_reply(c, status, reason, extra_header, message, strlen(message));
}

/*
 * The request is complete (headers ended): decide the answer.  Only the
 * request line matters; headers are read and ignored.
 */
static void
client_handle_request(HttpClient *c)
{
	char	   *line = c->request;
	char	   *end = c->request + c->nread;
	char	   *eol;
	char	   *method;
	char	   *target;
	char	   *version;
	char	   *p;
	size_t		pathlen;

	/* RFC 9112: ignore empty lines before the request line. */
	while (line < end && (*line == '\r' || *line == '\n'))
		line++;
	eol = memchr(line, '\n', end - line);

	if (eol == NULL || memchr(line, '\0', eol - line) != NULL)
		goto malformed;
	*eol = '\0';
	if (eol > line && eol[-1] == '\r')
		eol[-1] = '\0';
	for (p = line; *p; p++)
		if ((unsigned char) *p < 0x20 || (unsigned char) *p == 0x7f)
			goto malformed;

	method = line;
	target = strchr(method, ' ');
	if (target == NULL)
		goto malformed;
	*target++ = '\0';
	version = strchr(target, ' ');
	if (version == NULL)
		goto malformed;
	*version++ = '\0';
	if (strncmp(version, "HTTP/1.", 7) != 0 || strchr(version, ' ') != NULL ||
		target[0] != '/' || method[0] == '\0')
		goto malformed;

	pathlen = strcspn(target, "?#");
	if (pathlen != strlen("/metrics") || strncmp(target, "/metrics", pathlen) != 0)
	{
		client_reply_error(c, 404, "Not Found", NULL,
						   "Not found: taskdb serves its metrics at /metrics.\n");
		return;
	}
	if (strcmp(method, "GET") != 0)
	{
		client_reply_error(c, 405, "Method Not Allowed", "Allow: GET\r\n",
						   "Method not allowed: use GET /metrics.\n");
		return;
	}
	else
	{
		MemoryContext old = MemoryContextSwitchTo(http_context);
		StringInfoData body;

		initStringInfo(&body);
		metrics_build_exposition(&body);
		MemoryContextSwitchTo(old);
		client_reply(c, 200, "OK", NULL, body.data, body.len);
		pfree(body.data);
	}
	return;

malformed:
	client_reply_error(c, 400, "Bad Request", NULL,
					   "Bad request: expected \"GET /metrics HTTP/1.1\".\n");
}

/* The end of the request headers, if it has arrived. */
static bool
request_complete(HttpClient *c)
{
	int			i = 0;

	/* Empty lines before the request line do not end it. */
	while (i < c->nread && (c->request[i] == '\r' || c->request[i] == '\n'))
		i++;
	for (; i < c->nread; i++)
	{
		if (c->request[i] != '\n')
			continue;
		if (i + 1 < c->nread && c->request[i + 1] == '\n')
			return true;
		if (i + 2 < c->nread && c->request[i + 1] == '\r' && c->request[i + 2] == '\n')
			return true;
	}
	return false;
}

static void
client_read(HttpClient *c)
{
	char		discard[1024];
	ssize_t		n;

	if (c->state == CLIENT_DRAINING)
	{
		n = recv(c->sock, discard, sizeof(discard), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			client_close(c);
		return;
	}

	n = recv(c->sock, c->request + c->nread, REQUEST_MAX - c->nread, 0);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
	{
		client_close(c);		/* the client went away before asking */
		return;
	}
	if (n < 0)
		return;
	c->nread += n;
	if (request_complete(c))
		client_handle_request(c);
	else if (c->nread == REQUEST_MAX)
		client_reply_error(c, 431, "Request Header Fields Too Large", NULL,
						   "Request too large: taskdb reads at most 8192 bytes of request line and headers.\n");
}

static void
client_write(HttpClient *c)
{
	while (c->nsent < c->reply_len)
	{
		ssize_t		n = send(c->sock, c->reply + c->nsent, c->reply_len - c->nsent,
#ifdef MSG_NOSIGNAL
							 MSG_NOSIGNAL
#else
							 0
#endif
			);

		if (n < 0)
		{
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;			/* wait until the socket can take more */
			client_close(c);
			return;
		}
		c->nsent += n;
	}
	pfree(c->reply);
	c->reply = NULL;
	shutdown(c->sock, SHUT_WR);
	c->state = CLIENT_DRAINING;
	c->deadline = Min(c->deadline, TimestampTzPlusMilliseconds(GetCurrentTimestamp(), LINGER_MS));
}

void
taskdb_metrics_http_main(Datum main_arg)
{
	WaitEvent	events[MAX_LISTEN + MAX_CLIENTS + 2];
	int			i;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);

	/*
	 * SIGINT is pg_cancel_backend().  The worker runs no statement, so there
	 * is nothing to cancel; the handler a worker with a database connection
	 * gets by default would turn the signal into an ERROR outside any
	 * transaction, which ends the process and leaves the endpoint down until
	 * the postmaster restarts it RESTART_SECONDS later.
	 */
	pqsignal(SIGINT, SIG_IGN);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_activity(STATE_IDLE, NULL);

	http_context = AllocSetContextCreate(TopMemoryContext, "taskdb metrics http",
										 ALLOCSET_DEFAULT_SIZES);
	for (i = 0; i < MAX_CLIENTS; i++)
		clients[i].state = CLIENT_FREE;
	http_listen();

	for (;;)
	{
		WaitEventSet *set;
		TimestampTz now = GetCurrentTimestamp();
		TimestampTz next_deadline = 0;
		long		timeout = -1;
		int			nevents;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		/* Drop clients past their time. */
		for (i = 0; i < MAX_CLIENTS; i++)
		{
			HttpClient *c = &clients[i];

			if (c->state == CLIENT_FREE)
				continue;
			if (c->deadline <= now)
				client_close(c);
			else if (next_deadline == 0 || c->deadline < next_deadline)
				next_deadline = c->deadline;
		}
		if (next_deadline != 0)
			timeout = (long) ((next_deadline - now) / 1000) + 1;

		set = taskdb_create_wait_event_set(MAX_LISTEN + MAX_CLIENTS + 2);
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
		if (accept_paused_until <= now)
			for (i = 0; i < nlisten; i++)
				AddWaitEventToSet(set, WL_SOCKET_READABLE, listen_socks[i], NULL, NULL);
		else if (next_deadline == 0 || accept_paused_until < next_deadline)
			timeout = (long) ((accept_paused_until - now) / 1000) + 1;
		for (i = 0; i < MAX_CLIENTS; i++)
		{
			HttpClient *c = &clients[i];

			if (c->state == CLIENT_FREE)
				continue;
			AddWaitEventToSet(set,
							  c->state == CLIENT_WRITING ? WL_SOCKET_WRITEABLE : WL_SOCKET_READABLE,
							  c->sock, NULL, c);
		}

		nevents = WaitEventSetWait(set, timeout, events, lengthof(events), PG_WAIT_EXTENSION);
		FreeWaitEventSet(set);

		/*
		 * Clients first, then new connections: a client with its request
		 * waiting in this batch must be read before client_slot() judges it
		 * silent.
		 */
		for (i = 0; i < nevents; i++)
		{
			WaitEvent  *ev = &events[i];
			HttpClient *c = (HttpClient *) ev->user_data;

			if (ev->events & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				continue;
			}
			if (c == NULL || c->state == CLIENT_FREE || c->sock != ev->fd)
				continue;
			if (c->state == CLIENT_WRITING)
				client_write(c);
			else
				client_read(c);
			/* Answer at once when possible, without another wait. */
			if (c->state == CLIENT_WRITING)
				client_write(c);
		}
		for (i = 0; i < nevents; i++)
			if (events[i].user_data == NULL && !(events[i].events & WL_LATCH_SET))
				client_accept(events[i].fd);
	}
}
