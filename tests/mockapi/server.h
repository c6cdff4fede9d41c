/*
 * The mock API's HTTP/1.1 server on a libuv loop: accepts connections on
 * 127.0.0.1, parses requests (keep-alive, pipelining), asks the router for
 * a plan, waits the planned latency, then sends the head and body in one
 * write (TCP_NODELAY is set too: a head and body in separate segments would
 * meet the peer's delayed ACK and add about 40 ms to every keep-alive
 * response). It records every request in the statistics and serves its own
 * endpoints: /__stats, /__reset, /__reload.
 *
 * Ownership follows libuv: every handle is closed by mock_server_shutdown,
 * and connection memory is freed in the close callbacks, so once uv_run
 * returns after a shutdown nothing of the server is left on the loop.
 */
#ifndef MOCK_SERVER_H
#define MOCK_SERVER_H

#include <stdbool.h>
#include <uv.h>

#include "router.h"
#include "util/error.h"

struct mock_server_options {
  int port;   /* 0: let the kernel pick a free one */
  bool quiet; /* no line per request on stderr */
};

struct mock_server;

/*
 * Binds 127.0.0.1:port and listens on `loop`. The router is borrowed and
 * must outlive the server. *out is caller-owned: call mock_server_shutdown,
 * let uv_run finish, then mock_server_free. On failure a closing handle may
 * be left on the loop: run the loop before uv_loop_close.
 */
enum ts_result mock_server_new(uv_loop_t *loop, struct mock_router *router,
                               const struct mock_server_options *opts,
                               struct mock_server **out, struct ts_error *err);

/* The port actually bound. */
int mock_server_port(const struct mock_server *server);

/* Stops listening and closes every connection; pending requests are
 * recorded with outcome "shutdown". Safe to call twice. */
void mock_server_shutdown(struct mock_server *server);

/* Frees the server once its handles are closed (after uv_run returns). */
void mock_server_free(struct mock_server *server);

#endif
